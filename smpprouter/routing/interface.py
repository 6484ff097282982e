"""What the router core asks of a routing table: pure decisions on data.

An IRouter sees a message's routing-relevant facts (never a PDU, never a
session) and answers with a decision. It holds no connections and does no
I/O, so a table can be validated, swapped on reload and unit-tested alone.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


# Not frozen (treated as immutable all the same): one is made per message, and a
# frozen dataclass's __init__ costs three times as much (core/messages.py).
@dataclass(slots=True)
class MTRequest:
    """A mobile-terminated message asking for a route."""
    user: str
    groups: frozenset  # the user's groups, from the config
    source_addr: str
    destination_addr: str
    service_type: str = ""
    dest_ton: int = 0   # national (2): a route's e164 gives it its country code


@dataclass(frozen=True, slots=True)
class MTRoute:
    """Try these connectors in order: the first is the choice, the rest failover.

    The rule's business terms travel with the decision, so the core applies
    them without asking the table again: the price of one message part to
    this destination (None: the route is not priced), whether an UNDELIV
    receipt gives the charge back, and the TLVs a message needs here."""
    connectors: tuple
    rule: str  # the rule's name, for logs and counters
    price: int | None = None        # minor units per message part (routes.toml)
    refund_undelivered: bool = False
    required_tlvs: tuple = ()       # keys of Submission.tlvs (a TLV name, or an int tag)
    require_opt_in: bool = False    # only to destinations in an opt-in list (core/hygiene.py)
    hours: object = None            # policy.hours.Hours: when promotional traffic may go
    outside_hours: str = "wait"     # outside them: "wait" (scheduled) or "refuse" (457)
    # What the rule's actions change in this message (policy.rewrite.Rewritten:
    # rewritten addresses, TLVs to add or set); None for a rule without actions.
    rewrite: object = None


@dataclass(frozen=True, slots=True)
class MTReject:
    """Refuse the message with this SMPP status."""
    status: int
    rule: str
    # the rule's e164 or rewrite could not make an address of it (not "no route"):
    # the HTTP APIs say "invalid number" (HTTP09, REST 2001) rather than a routing error
    bad_number: bool = False


@dataclass(frozen=True, slots=True)
class MORequest:
    """A mobile-originated message from an upstream connector."""
    connector: str
    source_addr: str
    destination_addr: str
    text: str  # decoded best-effort; the first word is the keyword


@dataclass(frozen=True, slots=True)
class MORoute:
    user: str
    rule: str


class IRouter(Interface):
    """A routing table. Implementations are chosen by name in the config."""

    name = Attribute("The table's name in the configuration (e.g. 'table').")

    def route_mt(request):
        """MTRequest -> MTRoute or MTReject. Never raises for any request."""

    def route_mo(request):
        """MORequest -> MORoute, or None when no rule matches."""

    def check(connectors, users):
        """Raise ConfigError if a rule names a connector or user not in these sets."""
