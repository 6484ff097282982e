"""Seed 004's request body -> HttpMessages, one per destination number. Pure.

parse() raises RequestError (the field, and what is wrong with it) for a
request that is wrong as a whole, and nothing else whatever the body holds;
a destination number that is not a phone number is not the request's fault
alone and becomes a BadNumber item in its place, so the other destinations
still go.

What a body may hold (one message object, or an array of them; the seed's
fields, and these decisions where the seed is silent):
- deliverychannel: "sms", any case; absent is taken as sms. Another channel
  is refused.
- channels.sms.text: required, unless message.template names a template
  (not both). At most 255 SMS parts.
- channels.sms.senderid: digits (a leading + is dropped), at most 15, or at
  most 11 printable ASCII characters; absent: the template's, else none.
- channels.sms.type (1-4 as the vendor numbers them, a number or a digit
  string): absent: GSM 03.38 when the text fits in it, else UCS-2; 1 (text):
  GSM 03.38 only (a text it cannot carry is refused); 4 (unicode): UCS-2.
  2 (flash) and 3 (binary) are refused: the router sends neither.
- destination[].msisdn[]: numbers as strings (or JSON integers) in
  international form; a leading + or 00 is dropped, what is left must be 4-15
  digits. destination[].correlationid overrides the message's.
- correlationid (at most 128 characters; the vendor's limit is 50),
  notifydata and callbackData (at most 1024 each): echoed in the receipt's
  webhook. notifyurl: where that webhook goes (urls.url_problem decides).
- expiry: ISO 8601; without an offset it is UTC (as the vendor documents);
  "Z", "+05:30" and the vendor's "+5:30" are understood. Not sent after it.
- priority: 1 (low: the default), 2 (medium) or 3 (high), number or string;
  2 and 3 go ahead of the queue (SMPP priority_flag 1 and 2).
- $(name) placeholders in the text are filled from message.parameters and
  destination[].parameters (objects of strings or numbers; a destination's
  value wins). A placeholder with no value is sent as written.
- message.template: the name of a template in [http] templates; where the
  user has `templates`, one of those (seed 002's 453 "not allotted").
- channels.smartlinks: [{"linkid": 5, "validity": 30}, ...]: the seed's
  smart links. Each {{link_<id>}} of the text (the template's too) must have
  its entry here ("must be available", the seed says), and each entry's
  linkid must be a link of [http] links (a number or a string; an entry the
  text does not use is checked and otherwise unused). validity: days, 1-365,
  a number or a digit string; absent: the link's own (linktable.py). Each
  destination gets its own short link in place of the placeholder
  (smartlinks.py); the text's length is checked with the link in it.
- conversationid, route: accepted and ignored (the router has one route
  table per user).
  Any other field is ignored too, as the vendor's other channels' fields
  are, so a body written for the vendor works as it is.
- An empty string or null means the field is absent, as in the seed's
  template example.
"""

import json
import re
from datetime import datetime, timezone
from dataclasses import dataclass

from ..smpp.errors import EncodeError
from ..smpp.text import DC_DEFAULT, DC_UCS2, MAX_PARTS, choose_coding, count_parts, \
    encode_text
from .door import AUTO, GSM7, UCS2, HttpMessage
from .linktable import MAX_VALIDITY
from .linktext import LINK_ID, fill_links, link_ids
from .urls import url_problem

MAX_CORRELATION = 128
MAX_DATA = 1024
PLACEHOLDER = re.compile(r"\$\(([A-Za-z0-9_.\-]+)\)")
_OFFSET_ONE_DIGIT = re.compile(r"([+-])(\d)(:?\d\d)$")
_TYPES = {1: GSM7, 4: UCS2}
_PRIORITIES = {1: 0, 2: 1, 3: 2}
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


class RequestError(Exception):
    """The request is wrong as a whole: field (a path such as
    "[1].destination[0].msisdn[2]", or "" for the body) and what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__("%s: %s" % (field, message) if field else message)
        self.field = field
        self.message = message


@dataclass(slots=True)
class BadNumber:
    """A destination that is not a phone number: its own error entry."""
    number: str
    correlationid: str = ""


@dataclass(slots=True)
class Parsed:
    """items: an HttpMessage or a BadNumber per destination, in order;
    messages: the HttpMessages alone (items itself when there is no BadNumber);
    links: some message has smart links to make."""
    items: list
    messages: list
    links: bool = False


def parse(body: bytes, templates=None, max_destinations: int = 1000,
          webhook_allow=(), links=None, link_length: int = 0, allotted=None) -> Parsed:
    """The destinations of a request body; raises RequestError. links: the
    router's smart links ({id: linktable.Link}; None: it has none), and
    link_length the length of a short link ([http] link_base + a token).
    allotted: the template names the user may use (its `templates`; None: all)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise RequestError("", "the body is not valid JSON (%s)" % _short(e)) from None
    state = _State(templates or {}, max_destinations, webhook_allow, links or {},
                   link_length, allotted)
    if type(value) is dict:
        _message(value, "", state)
    elif type(value) is list:
        if not value:
            raise RequestError("", "the array holds no message")
        for index, item in enumerate(value):
            _message(item, "[%d]." % index, state)
    else:
        raise RequestError("", "must be a message object or an array of them")
    items = state.items
    if not state.bad:
        return Parsed(items, items, state.with_links)
    return Parsed(items, [item for item in items if type(item) is HttpMessage],
                  state.with_links)


class _State:
    __slots__ = ("templates", "limit", "allow", "links", "link_length", "items", "bad",
                 "with_links", "allotted")

    def __init__(self, templates, limit, allow, links, link_length, allotted=None):
        self.templates = templates
        self.allotted = allotted
        self.limit = limit
        self.allow = allow
        self.links = links
        self.link_length = link_length
        self.items = []
        self.bad = False
        self.with_links = False


def _short(e):
    text = str(e) or type(e).__name__
    return text if len(text) <= 200 else text[:200] + "..."


# -- fields -------------------------------------------------------------------

def _get(obj, name, at, kind, what):
    """obj[name] if it is of kind; None when absent, null or ""."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    if type(value) is not kind:
        raise RequestError(at + name, "must be %s" % what)
    return value


def _string(obj, name, at, limit=None):
    value = _get(obj, name, at, str, "a string")
    if value is not None and limit is not None and len(value) > limit:
        raise RequestError(at + name, "must be at most %d characters" % limit)
    return value or ""


def _object(obj, name, at):
    return _get(obj, name, at, dict, "an object") or {}


def _small_int(obj, name, at, choices, what):
    """An int or a digit string in choices (the vendor sends both); None if absent."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    if type(value) is str and value.isascii() and value.strip().isdigit() and len(value) < 4:
        value = int(value)
    if type(value) is not int or value not in choices:
        raise RequestError(at + name, "must be %s" % what)
    return value


def _parameters(obj, name, at):
    """{placeholder: text} of a parameters object."""
    values = _object(obj, name, at)
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            continue
        if kind is int or kind is float:
            values[key] = str(value)
        else:
            raise RequestError("%s%s.%s" % (at, name, key), "must be a string or a number")
    return values


def sender_problem(sender: str):
    """Why sender cannot be a sender id, or None."""
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isascii() and digits.isdigit():   # "" is not
        return None if len(digits) <= 15 else "must be at most 15 digits"
    if len(sender) > 11:
        return "must be at most 11 characters (or at most 15 digits)"
    if not _PRINTABLE.fullmatch(sender):
        return "must be printable ASCII"
    return None


def normalise_number(raw):
    """The digits of a destination number, or None when it is not one."""
    if type(raw) is int:
        number = str(raw)
    else:
        number = raw.strip()
        if number.startswith("+"):
            number = number[1:]
        elif number.startswith("00"):
            number = number[2:]
    if 4 <= len(number) <= 15 and number.isascii() and number.isdigit():
        return number
    return None


def parse_expiry(text: str) -> float:
    """Unix time of an ISO 8601 date and time; UTC when it has no offset.
    Raises ValueError."""
    text = _OFFSET_ONE_DIGIT.sub(r"\g<1>0\2\3", text.strip())
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def fill(text: str, values: dict) -> str:
    """text with each $(name) that values has replaced by its value."""
    if not values:
        return text
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _check_text(text, coding, at):
    """Refuse a text the Door would refuse for every destination."""
    try:
        if coding == AUTO:
            data_coding, body = choose_coding(text)
        else:
            data_coding = DC_DEFAULT if coding == GSM7 else DC_UCS2
            body = encode_text(text, data_coding)
    except (EncodeError, UnicodeEncodeError):
        raise RequestError(at, "has characters GSM 03.38 cannot carry (type 1); "
                           "send it as type 4 or without a type") from None
    parts = count_parts(payload=body, data_coding=data_coding)
    if parts > MAX_PARTS or len(body) > 0xFFFF:
        raise RequestError(at, "is %d SMS parts long; at most %d are sent"
                           % (parts, MAX_PARTS))


def _smartlinks(channels, at, links):
    """{link id: days} of channels.smartlinks; RequestError for a wrong entry."""
    entries = channels.get("smartlinks")
    if entries is None or entries == "":
        return {}
    at += "smartlinks"
    if type(entries) is not list:
        raise RequestError(at, "must be an array of {\"linkid\": ..., \"validity\": days}")
    chosen = {}
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (at, index)
        if type(entry) is not dict:
            raise RequestError(where, "must be an object with linkid (and validity)")
        raw = entry.get("linkid")
        if type(raw) is int and raw >= 0:
            raw = str(raw)
        if type(raw) is not str or not LINK_ID.fullmatch(raw):
            raise RequestError(where + ".linkid", "must be a link id: a number, or 1-32 "
                               "letters, digits, _ or -")
        link = links.get(raw)
        if link is None:
            raise RequestError(where + ".linkid", "no smart link %s is defined on this "
                               "router" % raw)
        if raw in chosen:
            raise RequestError(where + ".linkid", "link %s is given twice" % raw)
        days = _small_int(entry, "validity", where + ".", range(1, MAX_VALIDITY + 1),
                          "a whole number of days, 1-%d" % MAX_VALIDITY)
        chosen[raw] = link.validity if days is None else days
    return chosen


def _uses(text, chosen, links, at):
    """((id, target, days), ...) of the text's placeholders; each needs its entry."""
    uses = []
    for link_id in link_ids(text):
        days = chosen.get(link_id)
        if days is None:
            raise RequestError(at + "channels.smartlinks", "has no entry with linkid %s "
                               "for the text's {{link_%s}}" % (link_id, link_id))
        uses.append((link_id, links[link_id].url, days))
    return tuple(uses)


# -- one message object -------------------------------------------------------

def _message(obj, at, state):
    if type(obj) is not dict:
        raise RequestError(at.rstrip(".") or "", "must be a message object")
    channel = _string(obj, "deliverychannel", at)
    if channel and channel.lower() != "sms":
        raise RequestError(at + "deliverychannel", "must be \"sms\": the router sends SMS only")
    sms_at = at + "channels."
    channels = _object(obj, "channels", at)
    chosen = _smartlinks(channels, sms_at, state.links)
    sms = _object(channels, "sms", sms_at)
    sms_at += "sms."
    text = _string(sms, "text", sms_at)
    sender = _string(sms, "senderid", sms_at)
    kind = _small_int(sms, "type", sms_at, (1, 2, 3, 4),
                      "1 (text), 4 (unicode), or absent (2 flash and 3 binary are not sent)")
    if kind == 2 or kind == 3:
        raise RequestError(sms_at + "type", "flash (2) and binary (3) messages are not sent; "
                           "use 1 (text), 4 (unicode), or leave type out")
    coding = _TYPES.get(kind, AUTO)

    message = _object(obj, "message", at)
    name = message.get("template")
    if type(name) is int:
        name = str(name)   # the seed's names are strings; an integer means the same
    elif name is not None and type(name) is not str:
        raise RequestError(at + "message.template", "must be a string")
    defaults = _parameters(message, "parameters", at + "message.")
    if name:
        template = state.templates.get(name)
        if template is None:
            raise RequestError(at + "message.template", "no template named %r" % name)
        if state.allotted is not None and name not in state.allotted:
            # seed 002's 453 INV-TEMPLATE: known, but not this user's
            raise RequestError(at + "message.template",
                               "template %r is not allotted to this user" % name)
        if text:
            raise RequestError(at + "message.template",
                               "give channels.sms.text or message.template, not both")
        text = template.text
        sender = sender or template.senderid
        tlvs = dict(template.tlvs)
    else:
        tlvs = {}
    if not text:
        raise RequestError(sms_at + "text", "is required (or message.template)")
    uses = _uses(text, chosen, state.links, at)
    if uses:
        state.with_links = True
    if "$(" not in text:
        # as it will go: with its short links in
        _check_text(fill_links(text, dict.fromkeys(chosen, "x" * state.link_length))
                    if uses else text, coding, sms_at + "text")
    if sender:
        problem = sender_problem(sender)
        if problem:
            raise RequestError(sms_at + "senderid", problem)
        if sender[0] == "+":
            sender = sender[1:]

    correlationid = _string(obj, "correlationid", at, MAX_CORRELATION)
    notifyurl = _string(obj, "notifyurl", at)
    if notifyurl:
        problem = url_problem(notifyurl, state.allow)
        if problem:
            raise RequestError(at + "notifyurl", problem)
    meta = {}
    if correlationid:
        meta["correlationid"] = correlationid
    if notifyurl:
        meta["notifyurl"] = notifyurl
    for key in ("notifydata", "callbackData"):
        value = _string(obj, key, at, MAX_DATA)
        if value:
            meta[key] = value
    expiry = _string(obj, "expiry", at)
    validity = None
    if expiry:
        try:
            validity = parse_expiry(expiry)
        except (ValueError, OverflowError, OSError):
            raise RequestError(at + "expiry", "must be an ISO 8601 date and time, such as "
                               "2030-04-12T18:51:19 (UTC) or 2030-04-12T18:51:19+05:30")
    level = _small_int(obj, "priority", at, (1, 2, 3), "1 (low), 2 (medium) or 3 (high)")
    priority = _PRIORITIES.get(level, 0)

    destinations = obj.get("destination")
    if type(destinations) is not list or not destinations:
        raise RequestError(at + "destination", "must be a non-empty array of destinations")
    items = state.items
    placeholders = "$(" in text
    for index, destination in enumerate(destinations):
        where = "%sdestination[%d]" % (at, index)
        if type(destination) is not dict:
            raise RequestError(where, "must be an object with msisdn")
        numbers = destination.get("msisdn")
        if type(numbers) is not list or not numbers:
            raise RequestError(where + ".msisdn", "must be a non-empty array of numbers")
        if len(items) + len(numbers) > state.limit:
            raise RequestError(where + ".msisdn", "at most %d destinations in one request, "
                               "in all" % state.limit)
        where += "."
        own = _string(destination, "correlationid", where, MAX_CORRELATION)
        if own and own != correlationid:
            its_meta = dict(meta, correlationid=own)
        else:
            its_meta = meta
            own = correlationid
        values = _parameters(destination, "parameters", where)
        its_text = fill(text, dict(defaults, **values) if values else defaults) \
            if placeholders else text
        for position, raw in enumerate(numbers):
            if type(raw) is not str and (type(raw) is not int or raw < 0):
                raise RequestError("%smsisdn[%d]" % (where, position),
                                   "must be a string of digits")
            number = normalise_number(raw)
            if number is None:
                items.append(BadNumber(str(raw), own))
                state.bad = True
                continue
            items.append(HttpMessage(number, its_text, sender, coding, None, validity,
                                     priority, its_meta, tlvs, uses))
