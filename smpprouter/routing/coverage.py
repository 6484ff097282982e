"""A user's coverage: the destination prefixes it can reach and the price of each.

Derived from the routing table alone (pure; no connector state): for each
prefix the table names for this user (its rules' destination_prefix and
prices keys), what a message to a destination starting with it, and with no
longer listed prefix, gets under first-match: the rule that routes it and
that rule's price per part (longest prices prefix, else price), or refused
(a reject rule, or no rule). That answer is exact for every such destination,
because any rule or price prefix that could tell two of them apart is itself
a listed, longer prefix. "" stands for every other destination.

Rules that also depend on the sender or the message (source_prefix,
source_regex, service_type) decide only some messages: they are left out, as
a price list is the same for every message to a prefix. A rule's national
prefixes (its e164's trunk prefix: "07") are not listed either: its messages
are priced, and listed, by their E.164 prefix. So a refused prefix
more specific than a covered one is listed too (covered False): it says the
shorter prefix's price does not reach there.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoverageRow:
    prefix: str            # normalised digits; "" = any other destination
    covered: bool          # False: messages to it are refused
    price: int | None      # minor units per message part; None: not priced (free)
    rule: str = ""         # the rule deciding it (for the operator; not in the downloads)


def _applies(rule, user, groups):
    if rule.users is None and rule.groups is None:
        return True
    return (rule.users is not None and user in rule.users) or \
        (rule.groups is not None and not rule.groups.isdisjoint(groups))


def _unconditional(rule):
    return rule.source_prefix is None and rule.source_regex is None \
        and rule.service_type is None


def coverage(routes, user, groups=frozenset()):
    """[CoverageRow] of a user (routes: a rules.Routes), by prefix. Refused
    prefixes are listed only where a covered shorter one would mislead."""
    rules = [r for r in routes.mt if _applies(r, user, groups) and _unconditional(r)]
    candidates = {""}
    national = set()
    for rule in rules:
        candidates.update(rule.destination_prefix or ())
        candidates.update(prefix for prefix, _ in rule.prices)
        e164 = rule.rewrite.e164 if rule.rewrite is not None else None
        if e164 is not None and e164.country_code and e164.trunk_prefix:
            national.update(p for p in rule.destination_prefix or ()
                            if p.startswith(e164.trunk_prefix))
    candidates -= national
    rows = {}
    for prefix in sorted(candidates):
        rule = next((r for r in rules if r.destination_prefix is None
                     or prefix.startswith(r.destination_prefix)), None)
        if rule is None or rule.reject is not None:
            rows[prefix] = CoverageRow(prefix, False, None, rule.name if rule else "")
        else:
            rows[prefix] = CoverageRow(prefix, True, rule.price_of(prefix), rule.name)
    out = []
    for prefix in sorted(rows):
        row = rows[prefix]
        if not row.covered:
            shorter = next((rows[prefix[:n]] for n in range(len(prefix) - 1, -1, -1)
                            if prefix[:n] in rows), None)
            if shorter is None or not shorter.covered:
                continue   # nothing shorter says otherwise: not listing it says it
        out.append(row)
    return out
