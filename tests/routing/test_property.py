"""Property: the table decides exactly what a naive reading of the rules decides.

Random rule sets are written out as routes.toml text (so the loader is exercised
too) and fed the same random stream of requests as a reference that loops over
the rules in order, normalising numbers and testing every criterion the slow,
obvious way. The table's precomputed tuples, per-(user, groups) memo,
destination-prefix index and round-robin iterators must make no difference.
"""

import json
import os
import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.routing.interface import MORequest, MORoute, MTReject, MTRequest, MTRoute
from smpprouter.routing.table import NO_ROUTE, RoutingTable, load_routes
from smpprouter.smpp.status import parse_status
from smpprouter.tomlfile import ConfigError

USERS = ("u1", "u2", "u3")
GROUPS = ("g1", "g2", "g3")
CONNECTORS = ("c1", "c2", "c3", "c4")
REGEXES = ("[A-Z]+", r"\+?[0-9]+", "A.*", "[0-9]{2,4}", "(AB|12)3?", "0.*")
SERVICES = ("", "WAP", "CMT")
STATUSES = ("ESME_RINVDSTADR", "ESME_RPROHIBITED", "0x45", 88, "11")

MARKER = st.sampled_from(("", "", "+", "00"))
# A small alphabet, so that prefixes of different rules overlap and requests hit them.
number = st.builds(lambda m, d: m + d, MARKER, st.text("012", max_size=5))
# "00" alone is refused by the loader (it is only an international marker).
prefix = st.builds(lambda m, d: m + d, MARKER,
                   st.text("012", min_size=1, max_size=3)).filter(lambda p: p != "00")
source = st.one_of(number, st.text("AB012+", max_size=5))


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def some(pool, **kw):
    return st.lists(st.sampled_from(pool), min_size=1, max_size=3, **kw)


MT_CRITERIA = {
    "users": some(USERS + ("ghost",)),
    "groups": some(GROUPS),
    "destination_prefix": st.lists(prefix, min_size=1, max_size=3),
    "source_prefix": st.lists(prefix, min_size=1, max_size=2),
    "source_regex": st.sampled_from(REGEXES),
    "service_type": some(SERVICES),
}


def criteria(pool, weights):
    """One to three criteria (those repeated in weights more often), so that rules match."""
    names = st.lists(st.sampled_from(weights), unique=True, min_size=1, max_size=3)
    return names.flatmap(lambda keys: st.fixed_dictionaries({k: pool[k] for k in keys}))


def with_catch_all(rules, catch_all):
    """Maybe add a rule without criteria: valid last, refused anywhere else."""
    return st.builds(lambda rs, extra, at: rs if extra is None else
                     rs[:at] + [extra] + rs[at:], rules, maybe(catch_all), st.integers(0, 12))


mt_rule = criteria(MT_CRITERIA, ("users", "groups", "destination_prefix", "destination_prefix",
                                 "source_prefix", "source_regex", "service_type"))
mt_action = st.one_of(
    st.fixed_dictionaries({"connectors": some(CONNECTORS, unique=True)},
                          optional={"strategy": st.sampled_from(("failover", "round-robin"))}),
    st.fixed_dictionaries({"reject": st.sampled_from(STATUSES)}),
)
mt_rules = with_catch_all(
    st.lists(st.builds(lambda r, a: {**r, **a}, mt_rule, mt_action), max_size=10), mt_action)

mt_request = st.builds(
    MTRequest, user=st.sampled_from(USERS + ("u9",)),
    groups=st.frozensets(st.sampled_from(GROUPS + ("g9",)), max_size=2),
    source_addr=source, destination_addr=number, service_type=st.sampled_from(SERVICES))

MO_CRITERIA = {
    "destination": st.lists(number.filter(lambda n: n not in ("", "+", "00")), min_size=1,
                            max_size=3),
    "destination_prefix": st.lists(prefix, min_size=1, max_size=2),
    "keyword": some(("STOP", "help", "Info")),
    "connectors": some(CONNECTORS),
}
mo_rule = st.builds(lambda r, user: {**r, "user": user},
                    criteria(MO_CRITERIA, tuple(MO_CRITERIA)), st.sampled_from(USERS))
mo_rules = with_catch_all(st.lists(mo_rule, max_size=8),
                          st.builds(lambda u: {"user": u}, st.sampled_from(USERS)))

mo_request = st.builds(
    MORequest, connector=st.sampled_from(CONNECTORS), source_addr=source,
    destination_addr=number,
    text=st.builds(lambda a, b: a + b, st.sampled_from(("", " ", "stop", "STOP", "Help me",
                                                        "info.", "\nINFO x", "stopper")),
                   st.sampled_from(("", " now", " STOP"))))


def to_toml(no_route, sections):
    """TOML text; JSON's strings and arrays of strings are valid TOML."""
    lines = []
    if no_route is not None:
        lines += ["[defaults]", "no_route = %s" % json.dumps(no_route)]
    for section, rules in sections:
        for i, rule in enumerate(rules):
            lines += ["", "[[%s]]" % section, 'name = "r%d"' % i]
            lines += ["%s = %s" % (k, json.dumps(v)) for k, v in rule.items()]
    return "\n".join(lines) + "\n"


def norm(n):
    if n.startswith("+"):
        return n[1:]
    if n.startswith("00"):
        return n[2:]
    return n


def catch_all_not_last(rules, actions):
    return any(not (set(rule) - set(actions)) for rule in rules[:-1])


class ReferenceMT:
    """The rules read literally, one at a time."""

    def __init__(self, rules, no_route):
        self.rules = rules
        self.no_route = parse_status(str(no_route or "ESME_RINVDSTADR"))
        self.turns = [0] * len(rules)

    def route(self, req):
        for i, r in enumerate(self.rules):
            name = "r%d" % i
            if "users" in r or "groups" in r:
                if not (req.user in r.get("users", ()) or set(r.get("groups", ())) & req.groups):
                    continue
            if "destination_prefix" in r and not any(
                    norm(req.destination_addr).startswith(norm(p))
                    for p in r["destination_prefix"]):
                continue
            if "source_prefix" in r and not any(
                    norm(req.source_addr).startswith(norm(p)) for p in r["source_prefix"]):
                continue
            if "source_regex" in r:
                if not re.fullmatch(r["source_regex"], req.source_addr):
                    continue
            if "service_type" in r and req.service_type not in r["service_type"]:
                continue
            if "reject" in r:
                return MTReject(status=parse_status(str(r["reject"])), rule=name)
            connectors = list(r["connectors"])
            if r.get("strategy") == "round-robin":
                k = self.turns[i] % len(connectors)
                self.turns[i] += 1
                connectors = connectors[k:] + connectors[:k]
            return MTRoute(connectors=tuple(connectors), rule=name)
        return MTReject(status=self.no_route, rule=NO_ROUTE)


def reference_mo(rules, req):
    for i, r in enumerate(rules):
        if "connectors" in r and req.connector not in r["connectors"]:
            continue
        if "destination" in r and norm(req.destination_addr) not in map(norm, r["destination"]):
            continue
        if "destination_prefix" in r and not any(
                norm(req.destination_addr).startswith(norm(p)) for p in r["destination_prefix"]):
            continue
        if "keyword" in r:
            words = req.text.split()
            first = words[0].lower() if words else None
            if first not in [k.lower() for k in r["keyword"]]:
                continue
        return MORoute(user=r["user"], rule="r%d" % i)
    return None


class PropertyTests(SynchronousTestCase):

    def setUp(self):
        directory = self.mktemp()
        os.makedirs(directory)
        self.path = os.path.join(directory, "routes.toml")

    def load(self, text):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)
        return load_routes(self.path)

    @settings(max_examples=400, deadline=None)
    @given(rules=mt_rules, no_route=maybe(st.sampled_from(STATUSES)),
           requests=st.lists(mt_request, max_size=25))
    def test_route_mt_matches_the_reference(self, rules, no_route, requests):
        text = to_toml(no_route, [("mt", rules)])
        if catch_all_not_last(rules, ("connectors", "strategy", "reject")):
            self.assertRaises(ConfigError, self.load, text)
            return
        table = self.load(text)
        # The same rules with the destination-prefix index always on, as long tables have it.
        indexed = RoutingTable(table.routes, index_from=0)
        reference = ReferenceMT(rules, no_route)
        for request in requests:
            expected = reference.route(request)
            self.assertEqual(table.route_mt(request), expected, request)
            self.assertEqual(indexed.route_mt(request), expected, request)

    @settings(max_examples=300, deadline=None)
    @given(rules=mo_rules, requests=st.lists(mo_request, max_size=15))
    def test_route_mo_matches_the_reference(self, rules, requests):
        text = to_toml(None, [("mo", rules)])
        if catch_all_not_last(rules, ("user",)):
            self.assertRaises(ConfigError, self.load, text)
            return
        table = self.load(text)
        for request in requests:
            self.assertEqual(table.route_mo(request), reference_mo(rules, request), request)

    @settings(max_examples=200, deadline=None)
    @given(user=st.one_of(st.none(), st.text(max_size=3), st.integers()),
           groups=st.one_of(st.none(), st.frozensets(st.text(max_size=2)), st.just({"g1"})),
           source_addr=st.one_of(st.none(), st.text(max_size=8), st.binary(max_size=4)),
           destination_addr=st.one_of(st.none(), st.text(max_size=8), st.integers()))
    def test_route_mt_never_raises(self, user, groups, source_addr, destination_addr):
        table = self.load(to_toml(None, [("mt", [
            {"groups": ["g1"], "source_regex": "A.*", "connectors": ["c1"]},
            {"destination_prefix": ["1"], "connectors": ["c1", "c2"], "strategy": "round-robin"},
        ])]))
        result = table.route_mt(MTRequest(user, groups, source_addr, destination_addr))
        self.assertIsInstance(result, (MTRoute, MTReject))
