"""A receipt or an MO as the JSON its webhook carries (seed 004's shapes). Pure.

Receipts take seed 004's `deliveryInfoNotification` shape; the seed shows
one code (7500 Delivered), so the rest of the table is ours, one code per
SMPP message_state, with the receipt text's `err` in the Description when
it is not zero:

    code  deliveryStatus  message_state
    7500  Delivered       2 DELIVERED
    7501  Expired         3 EXPIRED
    7502  Deleted         4 DELETED
    7503  Undeliverable   5 UNDELIVERABLE
    7504  Accepted        6 ACCEPTED (intermediate: a final receipt may follow)
    7505  Unknown         7 UNKNOWN, and any state not listed
    7506  Rejected        8 REJECTED
    7507  Skipped         9 SKIPPED
    7508  Enroute         1 ENROUTE (intermediate)

    {"deliveryInfoNotification": {
        "deliveryInfo": {"deliveryChannel": "SMS", "Description": "Undeliverable (err 001)",
                         "destinationType": "msisdn", "timeStamp": "2026-12-01T10:20:30.000",
                         "code": "7503", "deliveryStatus": "Undeliverable",
                         "destination": "15551234567"},
        "correlationid": "...", "callbackData": "...", "notifydata": "...",
        "transid": "<the router's message id>"}}

destination is the handset; timeStamp (UTC) the receipt's done date, else
when the router queued it; correlationid, callbackData and notifydata are the
message's own (present only when the message gave them).

MOs take seed 004's MO shape, every value a string: userId (the router user),
channel "SMS", da (the number it was sent to), oa (the handset), message
(the text decoded from its data_coding, a UDH left out; a binary coding gives
the octets in hex), tid (the webhook's event id, the one stable id an MO
has), datetime (UTC, when the router queued it, as timeStamp above) and ts
(the same instant in unix milliseconds).

A click on a smart link (seed 004 has no shape for it; ours, in its style):

    {"clickNotification": {
        "transid": "<the router's message id>", "linkid": "5",
        "url": "<the link's target>", "destination": "15551234567",
        "clicks": 3, "timeStamp": "2026-12-01T10:20:30.000",
        "correlationid": "...", "callbackData": "...", "notifydata": "..."}}

clicks counts this link's clicks with this one; timeStamp (UTC) is when it
was clicked; the message's own ids as in its receipt.
"""

import json
from datetime import datetime, timezone

from ..core.messages import Click, Inbound, Receipt
from ..smpp.errors import DecodeError
from ..smpp.receipt import parse_receipt
from ..smpp.text import decode_text
from ..smpp.times import parse_receipt_date
from .meta import decode_meta

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

UNKNOWN = ("7505", "Unknown")
STATES = {
    1: ("7508", "Enroute"),
    2: ("7500", "Delivered"),
    3: ("7501", "Expired"),
    4: ("7502", "Deleted"),
    5: ("7503", "Undeliverable"),
    6: ("7504", "Accepted"),
    7: UNKNOWN,
    8: ("7506", "Rejected"),
    9: ("7507", "Skipped"),
}
ECHOED = ("correlationid", "callbackData", "notifydata")
UDHI = 0x40


def entry_time(entry_id: str) -> float:
    """The unix time a stream entry was added (its id's milliseconds)."""
    return int(entry_id.split("-", 1)[0]) / 1000.0


def iso_time(when: float) -> str:
    """2016-07-20T17:13:17.908, UTC: the seed's timeStamp form."""
    moment = datetime.fromtimestamp(when, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (moment.microsecond // 1000)


def webhook_url(account, entry):
    """Where entry goes for this user (config.User): a receipt to its message's
    notifyurl, else the user's dlr_url; an MO to mo_url. "" when nowhere (the
    config changed since it was queued): it then goes to the SMPP queue."""
    kind = type(entry)
    if kind is Receipt:
        return decode_meta(entry.reference).get("notifyurl") or account.dlr_url
    if kind is Click:
        return account.click_url
    return account.mo_url


def render(user: str, entry, event_id: str, queued_at: float) -> bytes:
    """The webhook body of a Receipt or an Inbound, UTF-8 JSON."""
    if type(entry) is Receipt:
        return receipt_body(entry, queued_at)
    if type(entry) is Inbound:
        return mo_body(user, entry, event_id, queued_at)
    if type(entry) is Click:
        return click_body(entry)
    raise TypeError("not a delivery entry: %r" % (entry,))


def receipt_body(receipt: Receipt, queued_at: float) -> bytes:
    code, status = STATES.get(receipt.state, UNKNOWN)
    parsed = parse_receipt(receipt.text)
    when = queued_at
    description = status
    if parsed is not None:
        if parsed.err and parsed.err.strip("0 "):
            description = "%s (err %s)" % (status, parsed.err)
        if parsed.done_date:
            try:
                when = parse_receipt_date(parsed.done_date).timestamp()
            except ValueError:
                pass   # an upstream's odd date: the time it was queued instead
    notification = {
        "deliveryInfo": {
            "deliveryChannel": "SMS",
            "Description": description,
            "destinationType": "msisdn",
            "timeStamp": iso_time(when),
            "code": code,
            "deliveryStatus": status,
            "destination": receipt.source,
        },
    }
    meta = decode_meta(receipt.reference)
    for key in ECHOED:
        if key in meta:
            notification[key] = meta[key]
    notification["transid"] = receipt.message_id
    return _dumps({"deliveryInfoNotification": notification}).encode()


def mo_text(inbound: Inbound) -> str:
    body = inbound.body
    if inbound.esm_class & UDHI and body:
        body = body[body[0] + 1:]
    try:
        return decode_text(body, inbound.data_coding, "replace")
    except DecodeError:   # a binary or reserved coding
        return body.hex()


def mo_body(user: str, inbound: Inbound, event_id: str, queued_at: float) -> bytes:
    return _dumps({
        "userId": user,
        "channel": "SMS",
        "da": inbound.destination,
        "oa": inbound.source,
        "message": mo_text(inbound),
        "tid": event_id,
        "datetime": iso_time(queued_at),
        "ts": str(int(queued_at * 1000)),
    }).encode()


def click_body(click: Click) -> bytes:
    notification = {"transid": click.message_id, "linkid": click.link_id, "url": click.target,
                    "destination": click.destination, "clicks": click.clicks,
                    "timeStamp": iso_time(click.at)}
    meta = decode_meta(click.reference)
    for key in ECHOED:
        if key in meta:
            notification[key] = meta[key]
    return _dumps({"clickNotification": notification}).encode()
