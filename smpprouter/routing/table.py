"""The default routing plugin: ordered first-match rules from etc/routes.toml.

route_mt runs once per message, so the rules are kept as flat tuples and the
loop does nothing but C-level operations (``str.startswith(tuple)``, frozenset
membership, one ``next()``). Every decision object is built at load: a
failover or reject rule answers ``next(itertools.repeat(decision))``, a
round-robin rule ``next(itertools.cycle(rotations))``, so no answer is built
per message, except by a rule with rewriting actions (policy/rewrite.py), whose
answer carries what they change in this message. The cycle iterators are the
only state that changes an answer.

Two precomputations keep long tables cheap, both derived data that change no
answer (the property test holds them to a naive loop over the rules):
- the rules that can apply to one (user, groups) are filtered once and
  memoised (bounded; dropped with the table on reload);
- when that list is long, its destination prefixes are indexed, so a
  200-country table costs a few dict look-ups instead of 200 startswith calls.
"""

import itertools
from dataclasses import replace

from zope.interface import implementer

from smpprouter.routing import rules as _rules
from smpprouter.policy.rewrite import Rewritten
from smpprouter.smpp.status import Status
from smpprouter.routing.coverage import coverage
from smpprouter.routing.interface import IRouter, MORoute, MTReject, MTRoute
from smpprouter.routing.rules import FAILOVER, ROUND_ROBIN, normalise, suggest
from smpprouter.tomlfile import ConfigError

NO_ROUTE = "(no route)"   # MTReject.rule when no [[mt]] rule matched
_MEMO_LIMIT = 4096        # (user, groups) pairs remembered; more only if groups churn
_INTERNATIONAL = ("+", "00")   # what rules.normalise strips from a number
INDEX_FROM = 12           # index destination prefixes of candidate lists this long (measured)


def _mt_decisions(rule):
    """The iterator whose next() is this rule's answer: a decision, or for a rule
    with prefix prices a tuple of decisions indexed by _pricing()'s slot."""
    if rule.reject is not None:
        return itertools.repeat(MTReject(status=rule.reject, rule=rule.name))
    c = rule.connectors
    rotations = ([c[i:] + c[:i] for i in range(len(c))] if rule.strategy == ROUND_ROBIN
                 else [c])
    assert rule.strategy in (FAILOVER, ROUND_ROBIN)
    prices = [rule.price] + [price for _, price in rule.prices]

    def route(connectors, price):
        return MTRoute(connectors=connectors, rule=rule.name, price=price,
                       refund_undelivered=rule.refund_undelivered,
                       required_tlvs=rule.require_tlvs, require_opt_in=rule.require_opt_in,
                       hours=rule.hours, outside_hours=rule.outside_hours)
    if rule.prices:
        answers = [tuple(route(r, p) for p in prices) for r in rotations]
    else:
        answers = [route(r, rule.price) for r in rotations]
    return itertools.repeat(answers[0]) if len(answers) == 1 else itertools.cycle(answers)


def _pricing(rule):
    """None for a rule without prefix prices; else destination -> slot of the
    decision tuple: the longest price prefix's (1...), or 0 for rule.price."""
    if not rule.prices:
        return None
    slots = {prefix: n for n, (prefix, _) in enumerate(rule.prices, 1)}
    lengths = tuple(sorted({len(p) for p in slots}, reverse=True))
    get = slots.get

    def slot(destination):
        for length in lengths:
            found = get(destination[:length])
            if found is not None:
                return found
        return 0
    return slot


def _plan(rules, index_from):
    """(rules, unindexed, index, lengths) for one candidate list, in file order.

    index maps each normalised destination prefix to the positions of the rules
    listing it; unindexed holds the positions of rules without destination_prefix;
    lengths are the distinct prefix lengths, ascending. index is None for short
    lists, which are cheaper to scan.
    """
    if sum(r[0] is not None for r in rules) < index_from:
        return rules, None, None, None
    index = {}
    unindexed = []
    for position, loop in enumerate(rules):
        if loop[0] is None:
            unindexed.append(position)
        for prefix in loop[0] or ():
            index.setdefault(prefix, []).append(position)
    lengths = tuple(sorted({len(p) for p in index}))
    return (rules, tuple(unindexed), {p: tuple(v) for p, v in index.items()}, lengths)


def _narrow(rules, unindexed, index, lengths, destination):
    """The rules, in file order, that remain possible once the destination is known."""
    found = unindexed
    merge = False
    size = len(destination)
    for length in lengths:
        if length > size:
            break
        hit = index.get(destination[:length])
        if hit is not None:
            merge = merge or bool(found)
            found = found + hit
    if merge:
        found = sorted(set(found))
    return [rules[p] for p in found]


def _rewritten(rewrite, request, decisions, pricing, name, trace=None):
    """The decision of a rule with actions (policy/rewrite.py): what they change,
    priced on the destination after E.164; or the status they refuse it with."""
    out = rewrite(request.source_addr, request.destination_addr, request.dest_ton, trace)
    if type(out) is not Rewritten:
        return MTReject(status=out, rule=name, bad_number=out == Status.ESME_RINVDSTADR)
    decision = next(decisions)
    if pricing is not None:
        decision = decision[pricing(out.priced)]
    return replace(decision, rewrite=out)


@implementer(IRouter)
class RoutingTable:
    """An IRouter over validated Routes; build it with load_routes()."""

    name = "table"

    def __init__(self, routes, tomlfile=None, index_from=INDEX_FROM):
        self.routes = routes
        self._index_from = index_from
        self._tf = tomlfile
        self._no_route = MTReject(status=routes.no_route, rule=NO_ROUTE)
        # (applies_to(user, groups) inputs, hot-loop tuple) per rule, in file order.
        self._mt = tuple(
            ((r.users, r.groups),
             (r.destination_prefix, r.source_prefix,
              r.source_regex.fullmatch if r.source_regex is not None else None,
              r.service_type, _mt_decisions(r), _pricing(r), r.rewrite, r.name))
            for r in routes.mt)
        self._memo = {}
        self._mo = tuple(
            (r.connectors, r.destination, r.destination_prefix, r.keyword,
             MORoute(user=r.user, rule=r.name))
            for r in routes.mo)
        self._mo_keywords = any(r.keyword is not None for r in routes.mo)

    # -- MT ------------------------------------------------------------------------------

    def _plan(self, user, groups):
        """The _plan() of the rules whose users/groups criteria admit this sender."""
        if type(groups) is not frozenset:
            groups = frozenset(groups or ())   # a set or list from a caller: same meaning
        key = (user, groups)
        plan = self._memo.get(key)
        if plan is None:
            plan = _plan(tuple(
                loop for (users, rgroups), loop in self._mt
                if (users is None and rgroups is None)
                or (users is not None and user in users)
                or (rgroups is not None and not rgroups.isdisjoint(groups))), self._index_from)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = plan
        return plan

    def route_mt(self, request):
        """MTRoute or MTReject for this message; the first matching rule wins. Never raises."""
        try:
            # rules.normalise's two prefixes; one startswith for the common number
            # that has neither (two slices cost a third more)
            destination = request.destination_addr
            if destination.startswith(_INTERNATIONAL):
                destination = destination[1:] if destination[0] == "+" else destination[2:]
            raw_source = source = request.source_addr
            if source.startswith(_INTERNATIONAL):
                source = source[1:] if source[0] == "+" else source[2:]
            service_type = request.service_type
            groups = request.groups
            # the memo's hit without _plan's call (the common case: the user's config groups)
            plan = self._memo.get((request.user, groups)) if type(groups) is frozenset else None
            if plan is None:
                plan = self._plan(request.user, groups)
            rules, unindexed, index, lengths = plan
            if index is not None:
                rules = _narrow(rules, unindexed, index, lengths, destination)
            for dprefix, sprefix, fullmatch, services, decisions, pricing, rewrite, name \
                    in rules:
                if dprefix is not None and not destination.startswith(dprefix):
                    continue
                if sprefix is not None and not source.startswith(sprefix):
                    continue
                if fullmatch is not None and fullmatch(raw_source) is None:
                    continue
                if services is not None and service_type not in services:
                    continue
                if rewrite is not None:
                    return _rewritten(rewrite, request, decisions, pricing, name)
                if pricing is None:
                    return next(decisions)
                return next(decisions)[pricing(destination)]
        except Exception:
            # Only a malformed request (a None address, a number for a string) gets here; the
            # contract is an answer, never an exception, and no rule can have matched it.
            pass
        return self._no_route

    def coverage(self, user, groups=frozenset()):
        """[routing.coverage.CoverageRow]: the prefixes this user reaches, priced."""
        return coverage(self.routes, user, frozenset(groups or ()))

    # -- MO ------------------------------------------------------------------------------

    def route_mo(self, request):
        """MORoute for the first matching [[mo]] rule, or None. Never raises."""
        try:
            connector = request.connector
            destination = normalise(request.destination_addr)
            keyword = None
            if self._mo_keywords:
                words = request.text.split(None, 1)
                keyword = words[0].casefold() if words else ""
            for connectors, exact, prefixes, keywords, route in self._mo:
                if connectors is not None and connector not in connectors:
                    continue
                if exact is not None and destination not in exact:
                    continue
                if prefixes is not None and not destination.startswith(prefixes):
                    continue
                if keywords is not None and keyword not in keywords:
                    continue
                return route
        except Exception:
            pass
        return None

    # -- validation against the main configuration -----------------------------------------

    def check(self, connectors, users):
        """Raise ConfigError, at the rule's line, for a connector or user the config lacks."""
        connectors, users = set(connectors), set(users)
        for rule in self.routes.mt:
            self._known(("mt", rule.index, "connectors"), rule.connectors, connectors,
                        "connector")
            self._known(("mt", rule.index, "users"), rule.users, users, "user")
        for rule in self.routes.mo:
            self._known(("mo", rule.index, "connectors"), rule.connectors, connectors,
                        "connector")
            self._known(("mo", rule.index, "user"), (rule.user,), users, "user")

    def _known(self, key, names, known, kind):
        # File order for a connector list, so the first wrong one is named first.
        for name in names if isinstance(names, tuple) else sorted(names or ()):
            if name not in known:
                message = "unknown %s %r%s" % (kind, name, suggest(name, sorted(known)))
                if self._tf is None:
                    dotted = "%s[%d].%s" % key
                    raise ConfigError("<routes>", None, dotted, message)
                raise self._tf.error(key, message)


def load_routes(path: str) -> RoutingTable:
    """A RoutingTable from a routes.toml; ConfigError (file:line: key: message) if invalid."""
    routes, tf = _rules.load(path)
    return RoutingTable(routes, tf)


# Routing plugins by the name [router].routing gives in smpprouter.toml.
ROUTERS = {"table": load_routes}


def make_router(name: str, path: str):
    """The IRouter the configuration asks for, loaded from path."""
    try:
        factory = ROUTERS[name]
    except (KeyError, TypeError):
        raise ConfigError(path, None, "router.routing", "unknown routing plugin %r%s (known: %s)"
                          % (name, suggest(name, ROUTERS), ", ".join(sorted(ROUTERS)))) from None
    return factory(path)
