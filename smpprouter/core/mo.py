"""MO: a message from a handset, routed by the MO rules to the user who gets it."""

from twisted.logger import Logger

from ..logs import message_text
from ..routing.interface import MORequest
from ..smpp.errors import DecodeError
from ..smpp.status import Status
from ..smpp.text import alphabet_of, decode_text


class MOPath:
    log = Logger()
    show_text = False   # [log] message_text
    def __init__(self, routes, inbox, counters):
        self.routes = routes
        self.inbox = inbox
        self.counters = counters

    def deliver(self, connector, inbound, answer):
        """answer(status for the upstream), once: ESME_ROK once queued for its user."""
        self.counters["mo"] += 1
        text = ""
        try:
            if alphabet_of(inbound.data_coding) != "binary":
                text = decode_text(inbound.body, inbound.data_coding, errors="replace")
        except DecodeError:
            pass
        decision = self.routes.route_mo(MORequest(connector, inbound.source,
                                                  inbound.destination, text))
        if decision is None:
            self.counters["mo_unrouted"] += 1
            self.log.warn("{connector}: MO from {source} to {destination} matches no MO rule",
                          connector=connector, source=inbound.source,
                          destination=inbound.destination,
                          **message_text(self.show_text, inbound.body, inbound.data_coding))
            answer(Status.ESME_RX_P_APPN)
            return
        self.inbox.put(decision.user, inbound, connector, "MO", answer)
