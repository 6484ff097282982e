"""routes.toml -> validated, precomputed rules; every mistake named by file:line: key.

Loading is where all the checking happens, so that matching (table.py) can trust
its data and stay a tight loop. Everything a rule needs per message is computed
here once: numbers normalised, prefix lists turned into tuples for
``str.startswith``, name lists into frozensets, regexes compiled, statuses parsed.

Number normalisation (``normalise``), applied the same way to the numbers in the
file and to the addresses of each message, so "+1", "001" and "1" are one
prefix: a leading "+" is dropped; otherwise a leading "00" is dropped; nothing
else changes (no spaces removed, no national "0" touched). It applies to MT
``destination_prefix`` and ``source_prefix`` and to MO ``destination`` and
``destination_prefix``. ``source_regex`` sees the source address as sent.

Money (``price``, ``prices``) is an integer count of one minor unit the
operator chooses for the whole router (for example 1 = 0.001 EUR): prices,
balances and top-ups all count it, and nothing converts or rounds it. A float
is refused, so no price is ever 0.1 + 0.2. ``prices`` maps destination
prefixes (normalised) to the price per part; the longest matching prefix wins,
else ``price``; a rule with neither is not priced (its messages cost nothing).

Loading has no side effects: it reads one file and returns new objects, so a
reload that fails leaves the running table untouched.
"""

import difflib
import re
import zoneinfo
from dataclasses import dataclass

from smpprouter.policy.hours import parse_hours
from smpprouter.routing.actions import ACTION_KEYS, parse_actions
from smpprouter.smpp.status import Status, parse_status
from smpprouter.smpp.tlv import SPECS as _TLV_SPECS
from smpprouter.tomlfile import TomlFile

FAILOVER = "failover"
ROUND_ROBIN = "round-robin"
STRATEGIES = (FAILOVER, ROUND_ROBIN)

DEFAULT_NO_ROUTE = Status.ESME_RINVDSTADR.value

# Rule names go to logs and counter labels: one token, no spaces or brackets,
# which also keeps them apart from table.NO_ROUTE ("(no route)").
_NAME = re.compile(r"[A-Za-z0-9_.:@-]+\Z")

TOP_KEYS = ("defaults", "mt", "mo")
DEFAULT_KEYS = ("no_route",)
MT_KEYS = ("name", "users", "groups", "destination_prefix", "source_prefix", "source_regex",
           "service_type", "connectors", "strategy", "reject", "price", "prices",
           "refund_undelivered", "require_tlvs", "require_opt_in", "hours", "timezone",
           "outside_hours") + ACTION_KEYS
OUTSIDE_HOURS = ("wait", "refuse")
MAX_PRICE = 10 ** 12   # minor units per part: far beyond any real price, exact in a Lua number
_TLV_NAMES = {name.lower(): name for name in _TLV_SPECS}
_TLV_BY_TAG = {tag: name for name, (tag, _, _) in _TLV_SPECS.items()}
MT_CRITERIA = ("users", "groups", "destination_prefix", "source_prefix", "source_regex",
               "service_type")
MO_KEYS = ("name", "destination", "destination_prefix", "keyword", "connectors", "user")
MO_CRITERIA = ("destination", "destination_prefix", "keyword", "connectors")


def normalise(number: str) -> str:
    """Drop one leading "+", or else one leading "00": the international forms of a number."""
    if number[:1] == "+":
        return number[1:]
    if number[:2] == "00":
        return number[2:]
    return number


@dataclass(frozen=True, slots=True)
class MTRule:
    """One [[mt]] rule. A criterion left out of the file is None here and matches anything."""
    name: str
    index: int                      # position in the file's [[mt]] list, for error lines
    users: frozenset | None
    groups: frozenset | None
    destination_prefix: tuple | None   # normalised
    source_prefix: tuple | None        # normalised
    source_regex: re.Pattern | None
    service_type: frozenset | None
    connectors: tuple | None        # exactly one of connectors / reject
    strategy: str
    reject: int | None
    price: int | None = None        # minor units per part when no prices prefix matches
    prices: tuple = ()              # ((normalised prefix, minor units per part), ...)
    refund_undelivered: bool = False
    require_tlvs: tuple = ()        # Submission.tlvs keys: TLV names, or int tags
    require_opt_in: bool = False    # destinations must be in an opt-in list (core/hygiene.py)
    hours: object = None            # policy.hours.Hours: promotional traffic only then
    outside_hours: str = "wait"     # "wait": scheduled to the next opening; "refuse": 457
    rewrite: object = None          # policy.rewrite.Rewrite: its actions (routing/actions.py)

    def price_of(self, destination: str) -> int | None:
        """The price per part to a normalised destination: longest prefix, else price.
        (The naive form; table.py precomputes the same answer.)"""
        best = None
        for prefix, price in self.prices:
            if destination.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, price)
        return best[1] if best is not None else self.price


@dataclass(frozen=True, slots=True)
class MORule:
    """One [[mo]] rule. A criterion left out of the file is None here and matches anything."""
    name: str
    index: int
    destination: frozenset | None       # normalised
    destination_prefix: tuple | None    # normalised
    keyword: frozenset | None           # casefolded
    connectors: frozenset | None
    user: str


@dataclass(frozen=True, slots=True)
class Routes:
    """A whole routes.toml, validated."""
    no_route: int
    mt: tuple
    mo: tuple


def suggest(word, choices) -> str:
    """ "; did you mean 'x'?" for the closest choice (case-insensitive), or ""."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=0.6)
    return "; did you mean %r?" % lowered[close[0]] if close else ""


def load(path: str) -> tuple:
    """(Routes, TomlFile) from a routes.toml; raises ConfigError on the first problem."""
    tf = TomlFile(path)
    return _Parser(tf).routes(), tf


class _Parser:
    def __init__(self, tf):
        self.tf = tf

    def fail(self, key, message):
        raise self.tf.error(key, message)

    # -- the file ------------------------------------------------------------------------

    def routes(self):
        data = self.tf.data
        self.unknown_keys(data, (), TOP_KEYS)
        defaults = data.get("defaults", {})
        if not isinstance(defaults, dict):
            self.fail(("defaults",), "must be a table: write [defaults]")
        self.unknown_keys(defaults, ("defaults",), DEFAULT_KEYS)
        no_route = DEFAULT_NO_ROUTE
        if "no_route" in defaults:
            no_route = self.status(("defaults", "no_route"), defaults["no_route"])
        mt = tuple(self.mt_rule(i, raw) for i, raw in enumerate(self.array("mt")))
        mo = tuple(self.mo_rule(i, raw) for i, raw in enumerate(self.array("mo")))
        self.unique_names("mt", mt)
        self.unique_names("mo", mo)
        self.reachable("mt", mt, MT_CRITERIA)
        self.reachable("mo", mo, MO_CRITERIA)
        return Routes(no_route=no_route, mt=mt, mo=mo)

    def array(self, section):
        rules = self.tf.data.get(section, [])
        if not isinstance(rules, list):
            self.fail((section,), "must be a list of rules: write [[%s]], not [%s]"
                      % (section, section))
        for i, raw in enumerate(rules):
            if not isinstance(raw, dict):
                self.fail((section, i), "each rule must be a table: write [[%s]]" % section)
        return rules

    def unknown_keys(self, table, where, known):
        for key in table:
            if key not in known:
                hint = suggest(key, known) or " (known: %s)" % ", ".join(known)
                self.fail(where + (key,), "unknown key" + hint)

    def unique_names(self, section, rules):
        first = {}
        for rule in rules:
            if rule.name in first:
                self.fail((section, rule.index, "name"),
                          "duplicate rule name %r (first at line %s)"
                          % (rule.name, self.tf.line_of(section, first[rule.name], "name")))
            first[rule.name] = rule.index

    def reachable(self, section, rules, criteria):
        """A rule with no criteria matches everything, so any rule after it is dead."""
        for rule in rules[:-1]:
            if all(getattr(rule, c) is None for c in criteria):
                later = rules[rule.index + 1]
                self.fail((section, later.index), "rule %r can never match: rule %r (line %s) "
                          "above it has no criteria and matches every message"
                          % (later.name, rule.name, self.tf.line_of(section, rule.index)))

    # -- rules -----------------------------------------------------------------------------

    def mt_rule(self, i, raw):
        key = ("mt", i)
        self.unknown_keys(raw, key, MT_KEYS)
        name = self.name(key, raw)
        regex = None
        if "source_regex" in raw:
            regex = self.regex(key + ("source_regex",), raw["source_regex"])
        connectors = reject = None
        if "connectors" in raw and "reject" in raw:
            self.fail(key + ("reject",), "give either connectors (route) or reject (refuse), "
                      "not both")
        if "connectors" in raw:
            connectors = self.strings(key + ("connectors",), raw["connectors"])
            seen = set()
            for n, connector in enumerate(connectors):
                if connector in seen:
                    self.fail(key + ("connectors", n), "connector %r listed twice" % connector)
                seen.add(connector)
        elif "reject" in raw:
            reject = self.status(key + ("reject",), raw["reject"])
        else:
            self.fail(key, "rule %r needs connectors = [...] (route) or reject = \"STATUS\" "
                      "(refuse)" % name)
        strategy = FAILOVER
        if "strategy" in raw:
            strategy = raw["strategy"]
            if reject is not None:
                self.fail(key + ("strategy",), "strategy applies to connectors, not to reject")
            if not isinstance(strategy, str) or strategy not in STRATEGIES:
                self.fail(key + ("strategy",), "must be one of %s%s"
                          % (", ".join(map(repr, STRATEGIES)), suggest(strategy, STRATEGIES)))
        if reject is not None:
            for field in ("price", "prices", "refund_undelivered", "require_tlvs",
                          "require_opt_in", "hours", "timezone", "outside_hours") + ACTION_KEYS:
                if field in raw:
                    self.fail(key + (field,), "%s applies to a rule that routes (connectors), "
                              "not to reject" % field)
        price = None
        if "price" in raw:
            price = self.money(key + ("price",), raw["price"])
        prices = self.prices(key + ("prices",), raw["prices"]) if "prices" in raw else ()
        refund_undelivered = False
        if "refund_undelivered" in raw:
            refund_undelivered = raw["refund_undelivered"]
            if not isinstance(refund_undelivered, bool):
                self.fail(key + ("refund_undelivered",), "must be true or false")
            if price is None and not prices:
                self.fail(key + ("refund_undelivered",), "applies to a priced rule: give "
                          "price or prices too")
        require_tlvs = ()
        if "require_tlvs" in raw:
            require_tlvs = self.tlv_keys(key + ("require_tlvs",), raw["require_tlvs"])
        require_opt_in = raw.get("require_opt_in", False)
        if not isinstance(require_opt_in, bool):
            self.fail(key + ("require_opt_in",), "must be true or false")
        hours, outside_hours = self.hours(key, raw)
        rewrite = parse_actions(self.fail, key, raw, suggest)
        return MTRule(
            name=name, index=i, price=price, prices=prices, rewrite=rewrite,
            refund_undelivered=refund_undelivered, require_tlvs=require_tlvs,
            require_opt_in=require_opt_in, hours=hours, outside_hours=outside_hours,
            users=self.optional_set(key, raw, "users"),
            groups=self.optional_set(key, raw, "groups"),
            destination_prefix=self.optional_prefixes(key, raw, "destination_prefix"),
            source_prefix=self.optional_prefixes(key, raw, "source_prefix"),
            source_regex=regex,
            service_type=self.optional_set(key, raw, "service_type", allow_empty_string=True),
            connectors=connectors, strategy=strategy, reject=reject)

    def mo_rule(self, i, raw):
        key = ("mo", i)
        self.unknown_keys(raw, key, MO_KEYS)
        name = self.name(key, raw)
        if "user" not in raw:
            self.fail(key, "rule %r needs user = \"...\": who receives these messages" % name)
        user = raw["user"]
        if not isinstance(user, str) or not user:
            self.fail(key + ("user",), "must be one user name (a non-empty string)")
        destination = None
        if "destination" in raw:
            destination = frozenset(self.numbers(key + ("destination",), raw["destination"]))
        keyword = None
        if "keyword" in raw:
            words = self.strings(key + ("keyword",), raw["keyword"])
            for n, word in enumerate(words):
                if len(word.split()) != 1 or word != word.strip():
                    self.fail(key + ("keyword", n), "%r: a keyword is one word, compared with "
                              "the first word of the text" % word)
            keyword = frozenset(w.casefold() for w in words)
        return MORule(
            name=name, index=i, destination=destination,
            destination_prefix=self.optional_prefixes(key, raw, "destination_prefix"),
            keyword=keyword, connectors=self.optional_set(key, raw, "connectors"), user=user)

    # -- values ----------------------------------------------------------------------------

    def name(self, key, raw):
        if "name" not in raw:
            self.fail(key, "rule needs name = \"...\" (used in logs and counters)")
        name = raw["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(key + ("name",), "must be a string of letters, digits and _ . : @ - "
                      "(no spaces)")
        return name

    def strings(self, key, value, allow_empty_string=False):
        """A non-empty list of strings, as a tuple."""
        if not isinstance(value, list):
            self.fail(key, "must be a list of strings, e.g. [%s]" % _quoted(value))
        if not value:
            self.fail(key, "is an empty list, which would match nothing; leave the key out "
                      "to match anything")
        for n, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(key + (n,), "must be a string: write %s" % _quoted(item))
            if not item and not allow_empty_string:
                self.fail(key + (n,), "must not be empty")
        return tuple(value)

    def optional_set(self, key, raw, field, allow_empty_string=False):
        if field not in raw:
            return None
        return frozenset(self.strings(key + (field,), raw[field], allow_empty_string))

    def numbers(self, key, value):
        numbers = []
        for n, item in enumerate(self.strings(key, value)):
            number = normalise(item)
            if not number or any(c.isspace() for c in item):
                self.fail(key + (n,), "%r is not a number or prefix (after dropping a leading "
                          "\"+\" or \"00\" it must be non-empty, with no spaces)" % item)
            numbers.append(number)
        return numbers

    def optional_prefixes(self, key, raw, field):
        if field not in raw:
            return None
        # Sorted and deduplicated: same matches, and a stable tuple for startswith().
        return tuple(sorted(set(self.numbers(key + (field,), raw[field]))))

    def hours(self, key, raw):
        """(Hours or None, outside_hours) of a rule: hours needs its timezone."""
        if "hours" not in raw:
            for field in ("timezone", "outside_hours"):
                if field in raw:
                    self.fail(key + (field,), "%s applies to a rule with hours = "
                              "\"HH:MM-HH:MM\"" % field)
            return None, "wait"
        if "timezone" not in raw:
            self.fail(key + ("hours",), "hours are the destination's local time: give "
                      "timezone too, e.g. timezone = \"Asia/Kolkata\"")
        zone_name = raw["timezone"]
        try:
            zone = zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            self.fail(key + ("timezone",), "%r is no IANA time zone (e.g. \"Asia/Kolkata\","
                      " \"Europe/London\", \"UTC\")" % (zone_name,))
        try:
            hours = parse_hours(raw["hours"], zone)
        except ValueError as e:
            self.fail(key + ("hours",), str(e))
        outside = raw.get("outside_hours", "wait")
        if outside not in OUTSIDE_HOURS:
            self.fail(key + ("outside_hours",), "must be one of %s%s" % (
                ", ".join(map(repr, OUTSIDE_HOURS)), suggest(str(outside), OUTSIDE_HOURS)))
        return hours, outside

    def money(self, key, value):
        """A price per part: an integer of the router's minor unit, never a float."""
        if isinstance(value, float):
            self.fail(key, "must be an integer number of minor units, not %r: money is never "
                      "a float here (pick a smaller minor unit, e.g. 1 = 0.001 of the currency)"
                      % value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "must be an integer number of minor units, e.g. 5")
        if not 0 <= value <= MAX_PRICE:
            self.fail(key, "must be between 0 and %d minor units, not %d" % (MAX_PRICE, value))
        return value

    def prices(self, key, value):
        if not isinstance(value, dict):
            self.fail(key, "must be a table of destination prefix = price per part, e.g. "
                      "prices = { \"44\" = 5, \"447\" = 7 }")
        if not value:
            self.fail(key, "is empty; leave it out, or give prefixes and their prices")
        out = {}
        for prefix, price in value.items():
            number = normalise(prefix)
            if not number or any(c.isspace() for c in prefix):
                self.fail(key + (prefix,), "%r is not a destination prefix (after dropping a "
                          "leading \"+\" or \"00\" it must be non-empty, with no spaces)"
                          % prefix)
            if number in out:
                self.fail(key + (prefix,), "prefix %r is given twice (as %r and %r)"
                          % (number, out[number][0], prefix))
            out[number] = (prefix, self.money(key + (prefix,), price))
        return tuple(sorted((number, price) for number, (_, price) in out.items()))

    def tlv_keys(self, key, value):
        """TLV names (any case: PE_ID, pe_id) or tags (0x1400, "0x1400", 5120), as the keys
        of a Submission's tlvs: the spec name of a known tag, the int tag of another."""
        if not isinstance(value, list) or not value:
            self.fail(key, "must be a non-empty list of TLV names or tags, e.g. "
                      "[\"pe_id\", \"template_id\"]")
        keys = []
        for n, item in enumerate(value):
            tag = None
            if isinstance(item, int) and not isinstance(item, bool):
                tag = item
            elif isinstance(item, str) and item.lower() in _TLV_NAMES:
                keys.append(_TLV_NAMES[item.lower()])
                continue
            elif isinstance(item, str):
                try:
                    tag = int(item, 0)
                except ValueError:
                    self.fail(key + (n,), "unknown TLV %r%s (a name from the SMPP "
                              "specification or seed 002, or a tag such as \"0x1400\")"
                              % (item, suggest(item.lower(), _TLV_NAMES)))
            else:
                self.fail(key + (n,), "must be a TLV name or tag")
            if not 0 < tag <= 0xFFFF:
                self.fail(key + (n,), "a TLV tag is between 0x0001 and 0xFFFF, not %r" % item)
            keys.append(_TLV_BY_TAG.get(tag, tag))
        if "message_payload" in keys:
            self.fail(key, "message_payload is the message body, not a TLV a route can require")
        return tuple(dict.fromkeys(keys))

    def regex(self, key, value):
        if not isinstance(value, str) or not value:
            self.fail(key, "must be a regular expression in a string")
        try:
            return re.compile(value)
        except re.error as e:
            self.fail(key, "invalid regular expression: %s" % e)

    def status(self, key, value):
        """A rejection status: a name (ESME_RINVDSTADR), or a number (11, "0x0B")."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(key, "must be an SMPP status name such as \"ESME_RINVDSTADR\", or a number")
        try:
            status = parse_status(str(value))
        except ValueError as e:
            self.fail(key, "%s%s" % (e, suggest(str(value).upper(), Status.__members__)))
        if status == Status.ESME_ROK:
            self.fail(key, "ESME_ROK is not a rejection: the ESME would believe the message "
                      "sent; use a failure status such as ESME_RINVDSTADR")
        return status


def _quoted(value):
    if isinstance(value, list):
        return ", ".join(_quoted(v) for v in value)
    return '"%s"' % (value,)
