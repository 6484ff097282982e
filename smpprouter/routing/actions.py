"""routes.toml's rewriting actions -> a compiled policy.rewrite.Rewrite, or None.

The keys of a [[mt]] rule that routes (see etc/routes.toml):
  e164      = true | { country_code = "44", trunk_prefix = "0", source = false }
  rewrite   = [ { field = "destination", prefix = "44", replace = "0", ton = 2 },
                { field = "source", regex = "0(\\d+)", replace = "44\\1" } ]
  add_tlvs  = { pe_id = "1201159100000000001" }
  set_tlvs  = { tm_id = "1201159100000000001,1702" }
Every mistake is a file:line: key error (fail is the rules parser's).

A regex must be bounded: it runs on every message of its route, so a pattern
that can take exponential time on a 20-character address is refused at load:
at most 100 characters, at most MAX_VARIABLE repetitions of varying length
(*, +, ?, {m,n}), none inside another and none around an alternation (use a
character class), and no back-references. Matching is on the whole address.
"""

import re
try:   # the stdlib's own regex parser (sre_parse before 3.11)
    import re._parser as _sre
    import re._constants as _sre_c
except ImportError:   # pragma: no cover
    import sre_parse as _sre
    import sre_constants as _sre_c

from ..policy.numbers import E164, country_code_problem, trunk_prefix_problem
from ..policy.rewrite import DESTINATION, MAX_ADDRESS, SOURCE, AddressRule, Rewrite
from ..smpp.errors import EncodeError
from ..smpp.tlv import CSTR, OCTETS, SPECS, TEXT, U8, U16, U32, encode_tlvs

ACTION_KEYS = ("e164", "rewrite", "add_tlvs", "set_tlvs")
E164_KEYS = ("country_code", "trunk_prefix", "source")
REWRITE_KEYS = ("field", "prefix", "regex", "replace", "ton", "npi")
MAX_PATTERN = 100
MAX_VARIABLE = 3
_REPEATS = (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) + tuple(
    getattr(_sre_c, name) for name in ("POSSESSIVE_REPEAT",) if hasattr(_sre_c, name))
_TLV_NAMES = {name.lower(): name for name in SPECS}
_TLV_BY_TAG = {tag: name for name, (tag, _, _) in SPECS.items()}
_SETTABLE = {U8: "int", U16: "int", U32: "int", CSTR: "str", TEXT: "str", OCTETS: "hex"}


def parse_actions(fail, key, raw, suggest):
    """The Rewrite of a rule (raw: its TOML table), or None when it has no action."""
    if not any(k in raw for k in ACTION_KEYS):
        return None
    e164, e164_source = _e164(fail, key + ("e164",), raw.get("e164", False), suggest)
    rules = _rules(fail, key + ("rewrite",), raw["rewrite"], suggest) if "rewrite" in raw \
        else ()
    add = _tlvs(fail, key + ("add_tlvs",), raw["add_tlvs"], suggest) if "add_tlvs" in raw \
        else ()
    set_ = _tlvs(fail, key + ("set_tlvs",), raw["set_tlvs"], suggest) if "set_tlvs" in raw \
        else ()
    both = {k for k, _ in add} & {k for k, _ in set_}
    if both:
        fail(key + ("set_tlvs",), "TLV %s is in add_tlvs too; give it in one of them"
             % sorted(map(str, both))[0])
    if e164 is None and not rules and not add and not set_:
        return None
    return Rewrite(e164=e164, e164_source=e164_source, rules=rules, add_tlvs=add,
                   set_tlvs=set_)


def _e164(fail, key, value, suggest):
    if isinstance(value, bool):
        return (E164() if value else None), False
    if not isinstance(value, dict):
        fail(key, "must be true (international forms only) or a table such as "
             "{ country_code = \"44\" }")
    for name in value:
        if name not in E164_KEYS:
            fail(key + (name,), "unknown key%s (known: %s)" % (suggest(name, E164_KEYS),
                                                               ", ".join(E164_KEYS)))
    country = value.get("country_code", "")
    if "country_code" in value and country_code_problem(country):
        fail(key + ("country_code",), country_code_problem(country))
    trunk = value.get("trunk_prefix", "0")
    if trunk_prefix_problem(trunk):
        fail(key + ("trunk_prefix",), trunk_prefix_problem(trunk))
    if "trunk_prefix" in value and not country:
        fail(key + ("trunk_prefix",), "applies with a country_code (what national numbers "
             "get); give country_code too")
    source = value.get("source", False)
    if not isinstance(source, bool):
        fail(key + ("source",), "must be true or false")
    return E164(country_code=country, trunk_prefix=trunk), source


def _rules(fail, key, value, suggest):
    if not isinstance(value, list) or not value:
        fail(key, "must be a non-empty list of tables, e.g. [{ field = \"destination\", "
             "prefix = \"44\", replace = \"0\" }]")
    out = []
    for n, item in enumerate(value):
        where = key + (n,)
        if not isinstance(item, dict):
            fail(where, "must be a table: { field = ..., prefix = ..., replace = ... }")
        for name in item:
            if name not in REWRITE_KEYS:
                fail(where + (name,), "unknown key%s (known: %s)"
                     % (suggest(name, REWRITE_KEYS), ", ".join(REWRITE_KEYS)))
        field = item.get("field")
        if field not in (DESTINATION, SOURCE):
            fail(where + ("field",), "must be \"destination\" or \"source\"%s"
                 % (suggest(field, (DESTINATION, SOURCE)) if isinstance(field, str) else ""))
        if ("prefix" in item) == ("regex" in item):
            fail(where, "give exactly one of prefix (a start to replace) or regex (the "
                 "whole address)")
        if "replace" not in item or not isinstance(item["replace"], str):
            fail(where + ("replace",), "needs replace = \"...\": what the match becomes "
                 "(\"\" removes a prefix)")
        replace = item["replace"]
        if len(replace) > MAX_ADDRESS or not replace.isprintable():
            fail(where + ("replace",), "must be printable, at most %d characters"
                 % MAX_ADDRESS)
        prefix = regex = None
        if "prefix" in item:
            prefix = item["prefix"]
            if not isinstance(prefix, str) or not prefix or len(prefix) > MAX_ADDRESS:
                fail(where + ("prefix",), "must be a non-empty string of at most %d "
                     "characters" % MAX_ADDRESS)
        else:
            regex = _regex(fail, where + ("regex",), item["regex"])
            _check_template(fail, where + ("replace",), replace, regex)
        ton = _small(fail, where, item, "ton", 6)
        npi = _small(fail, where, item, "npi", 18)
        out.append(AddressRule(field, prefix, regex, replace, ton, npi))
    return tuple(out)


def _small(fail, where, item, name, hi):
    if name not in item:
        return None
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        fail(where + (name,), "must be an integer from 0 to %d (SMPP's %s)"
             % (hi, name.upper()))
    return value


def _regex(fail, key, value):
    if not isinstance(value, str) or not value:
        fail(key, "must be a regular expression in a string")
    if len(value) > MAX_PATTERN:
        fail(key, "is %d characters; at most %d (it runs on every message)"
             % (len(value), MAX_PATTERN))
    try:
        compiled = re.compile(value)
        parsed = _sre.parse(value)
    except re.error as e:
        fail(key, "invalid regular expression: %s" % e)
    problem = unbounded(parsed)
    if problem:
        fail(key, "%s: it could take exponential time on one address; %s"
             % (problem, "write a simpler pattern (at most %d repetitions of varying length, "
                "none nested, character classes instead of | under a repetition)"
                % MAX_VARIABLE))
    return compiled


def unbounded(parsed) -> str:
    """Why this parsed pattern is not bounded ("" when it is)."""
    counted = [0]

    def walk(items, repeated):
        for op, av in items:
            if op in _REPEATS:
                lo, hi, sub = av
                if lo != hi:
                    counted[0] += 1
                if repeated and (lo != hi or hi > 1):
                    return "a repetition inside a repetition"
                problem = walk(sub, repeated or lo != hi or hi > 1)
                if problem:
                    return problem
            elif op == _sre_c.SUBPATTERN:
                problem = walk(av[-1], repeated)
                if problem:
                    return problem
            elif op == _sre_c.BRANCH:
                if repeated:
                    return "an alternation (|) inside a repetition"
                for branch in av[1]:
                    problem = walk(branch, repeated)
                    if problem:
                        return problem
            elif op in (_sre_c.ASSERT, _sre_c.ASSERT_NOT):
                problem = walk(av[1], repeated)
                if problem:
                    return problem
            elif op in (_sre_c.GROUPREF, getattr(_sre_c, "GROUPREF_EXISTS", None)):
                return "a back-reference"
        return ""
    problem = walk(parsed, False)
    if not problem and counted[0] > MAX_VARIABLE:
        problem = "%d repetitions of varying length (at most %d)" % (counted[0], MAX_VARIABLE)
    return problem


def _check_template(fail, key, template, regex):
    """The replacement's group references exist in the regex (checked by the
    stdlib's own template parser, which match.expand uses)."""
    try:
        _sre.parse_template(template, regex)
    except re.error as e:
        fail(key, "invalid replacement: %s" % e)


def _tlvs(fail, key, value, suggest):
    if not isinstance(value, dict) or not value:
        fail(key, "must be a non-empty table of TLV = value, e.g. { pe_id = \"1201...\" }")
    out = []
    for name, item in value.items():
        where = key + (name,)
        tlv = _tlv_key(fail, where, name, suggest)
        kind = SPECS[tlv][1] if isinstance(tlv, str) else OCTETS
        wants = _SETTABLE.get(kind)
        if wants is None or tlv == "message_payload":
            fail(where, "%s cannot be set by a route" % name)
        if wants == "int":
            if isinstance(item, bool) or not isinstance(item, int):
                fail(where, "must be an integer")
        elif wants == "str":
            if not isinstance(item, str) or not item.isprintable():
                fail(where, "must be printable text")
        else:
            try:
                item = bytes.fromhex(item) if isinstance(item, str) else None
            except ValueError:
                item = None
            if item is None:
                fail(where, "must be the value's octets in hex, e.g. \"0a1b\"")
        try:
            encode_tlvs({tlv: item})
        except EncodeError as e:
            fail(where, "%r does not fit this TLV: %s" % (value[name], e))
        out.append((tlv, item))
    return tuple(out)


def _tlv_key(fail, where, name, suggest):
    if name.lower() in _TLV_NAMES:
        return _TLV_NAMES[name.lower()]
    try:
        tag = int(name, 0)
    except ValueError:
        fail(where, "unknown TLV %r%s (a name from the SMPP specification or seed 002, or a "
             "tag such as \"0x1400\")" % (name, suggest(name.lower(), _TLV_NAMES)))
    if not 0 < tag <= 0xFFFF:
        fail(where, "a TLV tag is between 0x0001 and 0xFFFF, not %r" % name)
    return _TLV_BY_TAG.get(tag, tag)
