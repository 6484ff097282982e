"""A route's rewriting actions: numbers to E.164, addresses by rule, TLVs added or set.

What a [[mt]] rule's `e164`, `rewrite`, `add_tlvs` and `set_tlvs` do to a message
that rule routes, in this order:
1. `e164`: the destination to E.164 (policy/numbers.py); one that cannot be:
   ESME_RINVDSTADR. With `source = true`, a numeric source too (an
   alphanumeric sender id is left alone); one that cannot be: ESME_RINVSRCADR.
   A normalised address goes out as TON 1 / NPI 1 (international, E.164).
2. `rewrite`: per address, the first rule whose prefix or (whole-address)
   regex matches replaces it; later rules for that address are not tried, so
   rules never undo one another. A rule may set the address's TON / NPI.
3. `add_tlvs` (only where the message has none of that TLV) and `set_tlvs`
   (always), before the route's `require_tlvs` are checked.
The price is looked up on the destination after step 1 (prices are by
international prefix), before step 2 (which may make it national for an
upstream that wants it so).

Everything is compiled at load (routing/actions.py); per message this costs
only the rules that have actions. `Rewrite.__call__` is pure and never raises:
an address it cannot rewrite is a status, not an exception.
"""

from dataclasses import dataclass, replace

from ..smpp.status import Status
from .numbers import E164, is_numeric
from .tlvs import present

MAX_ADDRESS = 20   # octets of an SMPP address field before its NUL
DESTINATION, SOURCE = "destination", "source"


@dataclass(frozen=True, slots=True)
class AddressRule:
    """One entry of `rewrite`: prefix or regex (exactly one), and the replacement
    (for a prefix: what the prefix becomes; for a regex: a template, \\1)."""
    field: str
    prefix: str | None
    regex: object          # a compiled re.Pattern, or None
    replace: str
    ton: int | None = None
    npi: int | None = None

    def __call__(self, address):
        """The rewritten address, or None when this rule does not match it."""
        if self.prefix is not None:
            if address.startswith(self.prefix):
                return self.replace + address[len(self.prefix):]
            return None
        match = self.regex.fullmatch(address)
        return None if match is None else match.expand(self.replace)

    def describe(self):
        if self.prefix is not None:
            return "prefix %r -> %r" % (self.prefix, self.replace)
        return "regex %r -> %r" % (self.regex.pattern, self.replace)


@dataclass(slots=True)
class Rewritten:
    """What a route changes in one message: `changes` are Submission fields and
    their new values; the TLVs are ((key, value), ...) to add or set."""
    changes: dict
    priced: str            # the destination its price is looked up on
    add_tlvs: tuple = ()
    set_tlvs: tuple = ()

    def apply(self, s):
        """A new Submission with the changes (s itself is never changed)."""
        changes = self.changes
        if self.add_tlvs or self.set_tlvs:
            changes = dict(changes, tlvs=self.tlvs_of(s.tlvs))
        return replace(s, **changes) if changes else s

    def tlvs_of(self, tlvs):
        out = dict(tlvs)
        for key, value in self.add_tlvs:
            if not present(out.get(key)):
                out[key] = value
        for key, value in self.set_tlvs:
            out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A rule's actions, compiled."""
    e164: E164 | None = None
    e164_source: bool = False
    rules: tuple = ()          # AddressRule, in file order
    add_tlvs: tuple = ()
    set_tlvs: tuple = ()

    def __call__(self, source, destination, dest_ton=0, trace=None):
        """Rewritten, or the SMPP status refusing the message. trace: a list
        to which each step is appended as a sentence (route explain)."""
        try:
            return self._rewrite(source, destination, dest_ton, trace)
        except Exception:   # a non-string address from a malformed request
            return Status.ESME_RINVDSTADR

    def _rewrite(self, source, destination, dest_ton, trace):
        changes = {}
        priced = destination
        e164 = self.e164
        if e164 is not None:
            number = e164(destination, dest_ton)
            if number is None:
                if trace is not None:
                    trace.append("destination %r cannot be normalised to E.164" % destination)
                return Status.ESME_RINVDSTADR
            if trace is not None:
                trace.append("destination %r -> %r (E.164)" % (destination, number))
            destination = priced = number
            changes.update(destination=number, dest_ton=1, dest_npi=1)
            if self.e164_source and is_numeric(source):
                number = e164(source)
                if number is None:
                    if trace is not None:
                        trace.append("source %r cannot be normalised to E.164" % source)
                    return Status.ESME_RINVSRCADR
                if trace is not None:
                    trace.append("source %r -> %r (E.164)" % (source, number))
                source = number
                changes.update(source=number, source_ton=1, source_npi=1)
        elif priced[:1] == "+":
            priced = priced[1:]
        elif priced[:2] == "00":
            priced = priced[2:]
        done = set()
        for rule in self.rules:
            field = rule.field
            if field in done:
                continue
            before = destination if field == DESTINATION else source
            after = rule(before)
            if after is None:
                continue
            done.add(field)
            if trace is not None:
                trace.append("%s %r -> %r (rewrite %s)" % (field, before, after,
                                                          rule.describe()))
            if not after or len(after) > MAX_ADDRESS:
                if trace is not None:
                    trace.append("%s %r is not an address (1 to %d characters)"
                                 % (field, after, MAX_ADDRESS))
                return (Status.ESME_RINVDSTADR if field == DESTINATION
                        else Status.ESME_RINVSRCADR)
            if field == DESTINATION:
                destination = changes["destination"] = after
                if rule.ton is not None:
                    changes["dest_ton"] = rule.ton
                if rule.npi is not None:
                    changes["dest_npi"] = rule.npi
            else:
                source = changes["source"] = after
                if rule.ton is not None:
                    changes["source_ton"] = rule.ton
                if rule.npi is not None:
                    changes["source_npi"] = rule.npi
        if trace is not None:
            for key, value in self.add_tlvs:
                trace.append("TLV %s = %r, unless the message has it" % (key, value))
            for key, value in self.set_tlvs:
                trace.append("TLV %s set to %r" % (key, value))
        return Rewritten(changes, priced, self.add_tlvs, self.set_tlvs)
