"""MO: a message from a handset, routed by the MO rules to the user who gets it.

A part of a concatenated MO goes to core/moparts.py, which routes and queues
the whole message once every part is in; a plain MO costs one bit test and
one dict lookup more for that.
"""

from twisted.logger import Logger

from ..logs import message_text
from ..routing.interface import MORequest
from ..smpp.status import Status
from .concat import UDHI, part_of, text


class MOPath:
    log = Logger()
    show_text = False   # [log] message_text
    def __init__(self, routes, inbox, counters):
        self.routes = routes
        self.inbox = inbox
        self.counters = counters
        self.parts = None   # core/moparts.MOParts (Core sets it)

    def deliver(self, connector, inbound, answer):
        """answer(status for the upstream), once: ESME_ROK once queued for its user
        (a part: once stored)."""
        self.counters["mo"] += 1
        if inbound.esm_class & UDHI or "sar_msg_ref_num" in inbound.tlvs:
            part = part_of(inbound)
            if part is not None and self.parts is not None:
                self.parts.add(connector, inbound, part, answer)
                return
        user = self.user_for(connector, inbound)
        if user is None:
            answer(Status.ESME_RX_P_APPN)
            return
        self.inbox.put(user, inbound, connector, "MO", answer)

    def user_for(self, connector, inbound):
        """The user the MO rules give inbound to (keyword: its text's first word,
        a UDH left out), or None, counted and logged."""
        decision = self.routes.route_mo(MORequest(connector, inbound.source,
                                                  inbound.destination, text(inbound)))
        if decision is None:
            self.counters["mo_unrouted"] += 1
            self.log.warn("{connector}: MO from {source} to {destination} matches no MO rule",
                          connector=connector, source=inbound.source,
                          destination=inbound.destination,
                          **message_text(self.show_text, inbound.body, inbound.data_coding))
            return None
        return decision.user
