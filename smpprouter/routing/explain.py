"""`smpprouter route explain`: what the MT core would decide for one message, as sentences.

The same steps as core/mt.py, in its order, on the same pure pieces (the user's
sender ids, its country_code, the routing table, the route's actions, its
required TLVs and the user's defaults, the price); nothing is sent and nothing
needs Redis, so a prepaid user's balance is not looked at (the charge would be
parts x price). Each [[mt]] rule tried before the one that matched is listed
with the criterion that did not match, so "why this rule" has its answer.
"""

from dataclasses import dataclass, field

from ..policy.numbers import E164
from ..policy.senders import sender_matcher
from ..policy.tlvs import complete
from ..smpp.status import Status
from .interface import MTReject, MTRequest
from .rules import normalise


@dataclass
class Explanation:
    lines: list = field(default_factory=list)
    status: int = Status.ESME_ROK      # what the ESME would hear (ESME_ROK: routed)
    connectors: tuple = ()
    price: int | None = None

    def say(self, text, *args):
        self.lines.append(text % args if args else text)


def _why_not(rule, user, groups, source, destination, service_type):
    """Why this [[mt]] rule does not match ("" when it does)."""
    if rule.users is not None or rule.groups is not None:
        if not ((rule.users is not None and user in rule.users)
                or (rule.groups is not None and not rule.groups.isdisjoint(groups))):
            return "not for this user or its groups"
    dest, src = normalise(destination), normalise(source)
    if rule.destination_prefix is not None and not dest.startswith(rule.destination_prefix):
        return "destination %s does not start with %s" % (dest, "/".join(rule.destination_prefix))
    if rule.source_prefix is not None and not src.startswith(rule.source_prefix):
        return "source %s does not start with %s" % (src, "/".join(rule.source_prefix))
    if rule.source_regex is not None and rule.source_regex.fullmatch(source) is None:
        return "source %r does not match %r" % (source, rule.source_regex.pattern)
    if rule.service_type is not None and service_type not in rule.service_type:
        return "service_type %r is not one of its" % service_type
    return ""


def _criteria(rule, source, destination):
    shown = []
    if rule.users is not None:
        shown.append("users %s" % ", ".join(sorted(rule.users)))
    if rule.groups is not None:
        shown.append("groups %s" % ", ".join(sorted(rule.groups)))
    if rule.destination_prefix is not None:
        dest = normalise(destination)
        shown.append("destination prefix %s" % next(p for p in sorted(
            rule.destination_prefix, key=len, reverse=True) if dest.startswith(p)))
    if rule.source_prefix is not None:
        shown.append("source prefix %s" % "/".join(rule.source_prefix))
    if rule.source_regex is not None:
        shown.append("source regex %r" % rule.source_regex.pattern)
    if rule.service_type is not None:
        shown.append("service_type %s" % "/".join(map(repr, sorted(rule.service_type))))
    return "; ".join(shown) or "no criteria: it matches every message"


def explain(user, table, destination, source="", tlvs=None, service_type="", dest_ton=0):
    """Explanation of a message of user (config.User) through table (a RoutingTable)."""
    out = Explanation()
    tlvs = dict(tlvs or {})
    say = out.say
    say("user %s (%s; groups: %s)", user.name, user.billing,
        ", ".join(sorted(user.groups)) or "none")
    if user.sender_ids:
        if not sender_matcher(user.sender_ids)(source):
            say("refused: source %r is not one of its sender_ids (%s): ESME_RINVSRCADR",
                source, ", ".join(user.sender_ids))
            out.status = Status.ESME_RINVSRCADR
            return out
        say("source %r is one of its sender_ids", source)
    if user.country_code:
        number = E164(user.country_code)(destination, dest_ton)
        if number is None:
            say("refused: destination %r cannot be normalised to E.164 (user country_code "
                "%s): ESME_RINVDSTADR", destination, user.country_code)
            out.status = Status.ESME_RINVDSTADR
            return out
        say("destination %r -> %r (E.164, user country_code %s)", destination, number,
            user.country_code)
        destination, dest_ton = number, 1
    matched = None
    for rule in table.routes.mt:
        reason = _why_not(rule, user.name, user.groups, source, destination, service_type)
        if reason:
            say("rule %s (line %s): no: %s", rule.name, _line(table, rule), reason)
            continue
        say("rule %s (line %s) matches: %s", rule.name, _line(table, rule),
            _criteria(rule, source, destination))
        matched = rule
        break
    else:
        say("no [[mt]] rule matches")
    if matched is not None and matched.rewrite is not None:
        trace = []
        matched.rewrite(source, destination, dest_ton, trace)
        for line in trace:
            say("  rewrite: %s", line)
    # The table's own answer is the decision (the walk above only explains it).
    decision = table.route_mt(MTRequest(user.name, user.groups, source, destination,
                                        service_type, dest_ton))
    if type(decision) is MTReject:
        name = Status(decision.status).name if decision.status in Status._value2member_map_ \
            else "0x%08X" % decision.status
        say("refused: %s", name)
        out.status = decision.status
        return out
    if decision.rewrite is not None:
        tlvs = decision.rewrite.tlvs_of(tlvs) if (decision.rewrite.add_tlvs
                                                 or decision.rewrite.set_tlvs) else tlvs
    if decision.required_tlvs:
        have = complete(tlvs, decision.required_tlvs, user.tlv_defaults)
        if have is None:
            missing = [k for k in decision.required_tlvs
                       if k not in tlvs and k not in dict(user.tlv_defaults)]
            say("refused: the route requires TLVs %s; missing %s (neither in the message "
                "nor in the user's tlv_defaults): ESME_RMISSINGTLV",
                ", ".join(map(str, decision.required_tlvs)), ", ".join(map(str, missing)))
            out.status = Status.ESME_RMISSINGTLV
            return out
        say("required TLVs %s: present", ", ".join(map(str, decision.required_tlvs)))
    out.connectors = decision.connectors
    out.price = decision.price
    say("connectors: %s (the first that is up; the rest on failover)",
        ", ".join(decision.connectors))
    if decision.price is None:
        say("price: not priced (free)")
    else:
        say("price: %d minor units per part%s", decision.price,
            " (prepaid: charged before it is sent; short: ESME_RINVBALANCE)"
            if user.prepaid else " (postpaid: metered)")
    if decision.refund_undelivered:
        say("an UNDELIV receipt refunds the charge")
    if decision.require_opt_in:
        say("opt-in required: the destination must be in the user's or the global optin "
            "list, else refused (455)")
    if decision.hours is not None:
        say("promotional traffic only %s %s; outside: %s", decision.hours.text,
            decision.hours.zone, "scheduled to the next opening"
            if decision.outside_hours == "wait" else "refused (457)")
    return out


def _line(table, rule):
    tf = getattr(table, "_tf", None)
    return tf.line_of("mt", rule.index) if tf is not None else "?"
