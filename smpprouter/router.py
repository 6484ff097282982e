"""The router core: wires sessions, routing, connectors and the store.

It implements both gateways the protocol faces call (IESMEGateway,
ISMSCGateway) and owns the three paths of DESIGN.md:

MT   ESME submit_sm -> user limits -> routing table -> connector (failover on
     a retryable outcome) -> mapping stored -> ESME_ROK with the router's id.
     Nothing is acknowledged before the upstream accepted the message and,
     when a receipt was asked for, its mapping is stored.
DLR  upstream deliver_sm receipt -> mapping by (connector, upstream id) ->
     ids rewritten to the router's -> the user's delivery queue -> resp
     ESME_ROK upstream only once it is queued.
MO   upstream deliver_sm -> MO rules -> the user's delivery queue.
"""

from twisted.internet import defer, task, threads
from twisted.python import failure
from twisted.logger import Logger
from zope.interface import implementer

from .ids import format_id, key_forms, normalise
from .protocol.base import ResponseTimeoutError, SessionClosed
from .protocol.gateway import BindResult, IESMEGateway, ISMSCGateway
from .protocol.smsc import ConnectorBusy, ConnectorUnavailable
from .routing.interface import MORequest, MTReject, MTRequest
from .smpp import codec
from .smpp.codec import SHORT_MESSAGE_MAX
from .smpp.commands import INTERFACE_V34, CommandId
from .smpp.errors import DecodeError
from .smpp.receipt import parse_receipt, rewrite_id
from .smpp.status import Status
from .smpp.text import alphabet_of, decode_text
from .store.errors import QueueFull
from .store.interface import Mapping
from .throttle import TokenBucket

# Upstream answers after which the next route is tried.
RETRYABLE_STATUS = frozenset((
    Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL, Status.ESME_RSYSERR, Status.ESME_RX_T_APPN,
))
# esm_class message types that are receipts (delivery receipt, intermediate notification).
RECEIPT_TYPES = frozenset((0x04, 0x20))
# registered_delivery bits asking for any receipt or notification.
WANTS_RECEIPT = 0x13
# A receipt whose mapping is not stored yet (the upstream answered on another
# bind, or to another process, before its submit_sm_resp was handled) is looked
# up again, first soon then less often, for the connector's receipt_wait
# seconds; its deliver_sm_resp waits meanwhile, so if this process dies the
# upstream still has it and sends it again.
PARK_FIRST, PARK_MAX = 0.05, 2.0
PARK_LONG = 1.0   # a receipt parked longer than this is no race: see Router._park
# A bound session stays registered in Redis (for max_binds across processes)
# this long unless refreshed; the heartbeat refreshes it three times as often.
SESSION_TTL = 30.0


@implementer(IESMEGateway, ISMSCGateway)
class Router:
    log = Logger()

    def __init__(self, config, routes, store, ids, deliveries, clock, password_cache,
                 instance="router"):
        self.config = config
        self.routes = routes
        self.store = store
        self.ids = ids
        self.deliveries = deliveries
        self.clock = clock
        self.passwords = password_cache
        self.system_id = config.router.name
        self.connectors = {}
        self._sessions = {}      # user -> set of bound sessions
        self._buckets = {}       # user -> TokenBucket
        self._forms = {}         # connector -> (resp id form, receipt id form)
        self._instance = instance
        self._session_count = 0
        self._others = {}        # user -> sessions in other processes, at the last heartbeat
        self._heartbeat = task.LoopingCall(self.heartbeat)
        self._heartbeat.clock = clock
        self.counters = dict.fromkeys((
            "submitted", "accepted", "rejected", "failed", "receipts", "receipts_unknown",
            "receipts_unwanted", "receipts_deferred", "mo", "mo_unrouted", "queue_full"), 0)
        self._parked = {}        # connector -> receipts waiting for their mapping

    def add_connector(self, connector):
        self.connectors[connector.name] = connector
        c = connector.config
        self._forms[connector.name] = key_forms(c.resp_id, c.receipt_id)

    # -- binds ----------------------------------------------------------------

    def authenticate(self, system_id, password, mode, session):
        user = self.config.users.get(system_id)
        stored = user.password if user is not None else None
        answer = self.passwords.peek(password, stored)
        if answer is None:
            # scrypt takes tens of ms: keep it off the reactor.
            d = threads.deferToThread(self.passwords.verify, password, stored)
        else:
            d = defer.succeed(answer)
        return d.addCallback(self._authenticated, user)

    def _authenticated(self, ok, user):
        if user is None:
            return BindResult(Status.ESME_RINVSYSID)
        if not ok:
            return BindResult(Status.ESME_RINVPASWD)
        if len(self._sessions.get(user.name, ())) >= user.max_binds:
            return BindResult(Status.ESME_RBINDFAIL)
        self._session_count += 1
        member = "%s/%d" % (self._instance, self._session_count)
        d = self.store.open_session(user.name, member, user.max_binds, SESSION_TTL)
        d.addCallbacks(self._registered, self._not_registered, (user, member), None, (user,))
        return d

    def _registered(self, admitted, user, member):
        if not admitted:   # max_binds reached across processes
            return BindResult(Status.ESME_RBINDFAIL)
        return BindResult(Status.ESME_ROK, user.name, user.window, user.message_id, member)

    def _not_registered(self, failure, user):
        self.log.error("bind of {user} refused, the session registry is unreachable: {error}",
                       user=user.name, error=failure.getErrorMessage())
        return BindResult(Status.ESME_RSYSERR)

    def session_bound(self, session):
        self._sessions.setdefault(session.user, set()).add(session)
        self._share(session.user)
        if session.receiving:
            self.deliveries.attach(session)

    def session_closed(self, session):
        sessions = self._sessions.get(session.user)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._sessions[session.user]
        if session.session_id:
            self.store.close_session(session.user, session.session_id).addErrback(
                lambda f: None)   # it lapses after SESSION_TTL anyway
        self._share(session.user)
        self.deliveries.detach(session)

    # -- one user, several processes ------------------------------------------

    def start(self):
        self._heartbeat.start(SESSION_TTL / 3, now=False)

    def stop(self):
        if self._heartbeat.running:
            self._heartbeat.stop()

    def heartbeat(self):
        """Keep our sessions registered; learn how many each user has elsewhere."""
        for name, sessions in list(self._sessions.items()):
            members = [s.session_id for s in sessions if s.session_id]
            d = self.store.refresh_sessions(name, members, SESSION_TTL)
            d.addCallbacks(self._counted, self._not_counted, (name, len(members)), None,
                           (name,))

    def _counted(self, total, name, local):
        self._others[name] = max(0, total - local)
        self._share(name)

    def _not_counted(self, failure, name):
        self.log.warn("sessions of {user} not refreshed: {error}", user=name,
                      error=failure.getErrorMessage())

    def _share(self, name):
        """This process's part of the user's throughput: its share of the user's
        sessions, so the limit holds across processes with no Redis call per message."""
        bucket = self._buckets.get(name)
        user = self.config.users.get(name)
        if bucket is None or user is None:
            return
        local = len(self._sessions.get(name, ()))
        if local and user.throughput:
            bucket.set_rate(user.throughput * local / (local + self._others.get(name, 0)))

    # -- MT -----------------------------------------------------------------

    def submit(self, session, pdu):
        self.counters["submitted"] += 1
        user = self.config.users[session.user]
        bucket = self._buckets.get(user.name) or self._bucket(user)
        if not bucket.take(self.clock.seconds()):
            return self._reject(Status.ESME_RTHROTTLED)
        tlvs = pdu.tlvs
        if "message_payload" in tlvs and getattr(pdu, "short_message", b""):
            return self._reject(Status.ESME_RINVMSGLEN)
        decision = self.routes.route_mt(MTRequest(
            user.name, user.groups, pdu.source_addr, pdu.destination_addr,
            pdu.service_type))
        if type(decision) is MTReject:
            return self._reject(decision.status)
        return self._send(pdu, user, decision.connectors, 0, None)

    def _bucket(self, user):
        bucket = self._buckets[user.name] = TokenBucket(user.throughput, self.clock.seconds())
        self._share(user.name)
        return bucket

    def _reject(self, status):
        self.counters["rejected"] += 1
        return defer.succeed((status, ""))

    def _send(self, pdu, user, names, index, last_status):
        while index < len(names):
            connector = self.connectors.get(names[index])
            if connector is not None and connector.up:
                break
            index += 1
        else:
            self.counters["failed"] += 1
            status = last_status if last_status is not None else Status.ESME_RSYSERR
            return defer.succeed((status, ""))
        if connector.config.interface_version < INTERFACE_V34:
            refused = self._fit_v33(pdu)
            if refused:   # this upstream cannot carry it: the next route may
                return self._send(pdu, user, names, index + 1, refused)
        d = connector.submit(pdu)
        d.addCallbacks(self._answered, self._not_answered, (pdu, user, names, index, connector),
                       None, (pdu, user, names, index))
        return d

    @staticmethod
    def _fit_v33(pdu):
        """Make a message fit an SMPP v3.3 upstream, which takes no TLVs and no
        data_sm; the status to refuse it with if it cannot.

        The text of a message_payload moves into short_message when it fits;
        otherwise the upstream would accept an empty message.
        """
        if pdu.command_id != CommandId.submit_sm:
            return Status.ESME_RINVCMDID
        payload = pdu.tlvs.get("message_payload")
        if payload is not None:
            if len(payload) > SHORT_MESSAGE_MAX:
                return Status.ESME_RINVMSGLEN
            pdu.short_message = payload
            del pdu.tlvs["message_payload"]
        return None

    def _not_answered(self, failure, pdu, user, names, index):
        if failure.check(ConnectorUnavailable, ConnectorBusy, ResponseTimeoutError,
                         SessionClosed, DecodeError):
            status = (Status.ESME_RMSGQFUL if failure.check(ConnectorBusy)
                      else Status.ESME_RSYSERR)
            return self._send(pdu, user, names, index + 1, status)
        return failure

    def _answered(self, resp, pdu, user, names, index, connector):
        status = resp.command_status
        if status != Status.ESME_ROK:
            if status in RETRYABLE_STATUS or resp.command_id == 0x80000000:
                return self._send(pdu, user, names, index + 1, status)
            self.counters["failed"] += 1
            return (status, "")
        message_id = format_id(self.ids.next(), user.message_id)
        if not pdu.registered_delivery & WANTS_RECEIPT:
            self.counters["accepted"] += 1
            return (Status.ESME_ROK, message_id)
        key = normalise(resp.message_id, self._forms[connector.name][0])
        if not key:
            # Nothing to correlate a receipt with: the promise is no ESME_ROK then.
            self.counters["failed"] += 1
            self.log.error("{connector}: submit_sm_resp ESME_ROK without a message_id; the "
                           "receipt could not be correlated, refused", connector=connector.name)
            return (Status.ESME_RSYSERR, "")
        mapping = Mapping(message_id, user.name, pdu.source_addr, pdu.destination_addr,
                          self.clock.seconds(), 1, pdu.registered_delivery)
        d = self.store.save_mapping(connector.name, key, mapping, connector.config.dlr_expiry)
        d.addCallbacks(self._mapped, self._not_mapped, (message_id,), None, (connector, resp))
        return d

    def _mapped(self, _, message_id):
        self.counters["accepted"] += 1
        return (Status.ESME_ROK, message_id)

    def _not_mapped(self, failure, connector, resp):
        # The upstream has the message, but its receipt could never be
        # correlated: the ESME must not hear ESME_ROK.
        self.counters["failed"] += 1
        self.log.error("{connector}: accepted as {upstream_id!r} but its mapping could not be"
                       " stored: {error}", connector=connector.name,
                       upstream_id=resp.message_id, error=failure.getErrorMessage())
        return (Status.ESME_RSYSERR, "")

    # -- DLR and MO ------------------------------------------------------------

    def upstream_deliver(self, connector, pdu):
        if (pdu.esm_class & 0x3C) in RECEIPT_TYPES:
            return self._receipt(connector, pdu)
        return self._mo(connector, pdu)

    def _receipt(self, connector, pdu):
        self.counters["receipts"] += 1
        upstream_id = pdu.tlvs.get("receipted_message_id")
        text = self._receipt_text(pdu)
        if upstream_id is None:
            receipt = parse_receipt(text) if text else None
            upstream_id = receipt.id if receipt is not None else None
        if not upstream_id:
            self.counters["receipts_unknown"] += 1
            self.log.warn("{connector}: receipt without an id dropped", connector=connector.name)
            return defer.succeed(Status.ESME_ROK)
        key = normalise(upstream_id, self._forms[connector.name][1])
        return self._lookup(connector, pdu, upstream_id, key)

    @staticmethod
    def _receipt_text(pdu):
        return pdu.short_message or pdu.tlvs.get("message_payload", b"")

    def _lookup(self, connector, pdu, upstream_id, key):
        d = self.store.get_mapping(connector.name, key)
        d.addCallback(self._found, connector, pdu, upstream_id, key)
        d.addErrback(self._store_down, connector, "receipt", pdu)
        return d

    def _found(self, mapping, connector, pdu, upstream_id, key):
        if mapping is None:
            return defer.Deferred.fromCoroutine(self._park(connector, pdu, upstream_id, key))
        return self._relay(mapping, connector, pdu)

    def _relay(self, mapping, connector, pdu):
        if not mapping.registered_delivery & WANTS_RECEIPT:
            self.counters["receipts_unwanted"] += 1
            return Status.ESME_ROK
        self._rewrite(pdu, mapping.message_id)
        return self._enqueue(mapping.user, pdu, connector, "receipt")

    async def _park(self, connector, pdu, upstream_id, key):
        """Look the mapping up again, soon then less often, for receipt_wait.

        Each parked receipt holds a slot of the upstream's window. A race
        (the receipt a few ms ahead of its mapping) ends quickly; a receipt
        for an id never mapped (e.g. from before dlr_expiry) would hold its
        slot for all of receipt_wait. So at most half the window may wait
        longer than PARK_LONG; beyond, the receipt goes back to the upstream,
        which keeps it and sends it again later.
        """
        name = connector.name
        config = connector.config
        waited, counted = 0.0, False
        try:
            while True:
                left = config.receipt_wait - waited
                if left <= 0:
                    self.counters["receipts_unknown"] += 1
                    self.log.warn("{connector}: receipt for unknown id {upstream_id!r} dropped "
                                  "after {waited:.1f} s", connector=name,
                                  upstream_id=upstream_id, waited=waited)
                    return Status.ESME_ROK
                if waited >= PARK_LONG and not counted:
                    parked = self._parked.get(name, 0)
                    if parked >= max(1, config.window * config.binds // 2):
                        self.counters["receipts_deferred"] += 1
                        self.log.info("{connector}: receipt for {upstream_id!r} handed back to "
                                      "the upstream, {n} already wait long for their mapping",
                                      connector=name, upstream_id=upstream_id, n=parked)
                        return Status.ESME_RX_T_APPN
                    self._parked[name] = parked + 1
                    counted = True
                delay = min(left, PARK_MAX, max(PARK_FIRST, waited))
                await task.deferLater(self.clock, delay, lambda: None)
                waited += delay
                try:
                    mapping = await self.store.get_mapping(name, key)
                except Exception:
                    return self._store_down(failure.Failure(), connector, "receipt", pdu)
                if mapping is not None:
                    return await defer.maybeDeferred(self._relay, mapping, connector, pdu)
        finally:
            if counted:
                self._parked[name] -= 1

    def _rewrite(self, pdu, message_id):
        tlvs = pdu.tlvs
        tlvs["receipted_message_id"] = message_id
        if pdu.short_message:
            try:
                pdu.short_message = rewrite_id(pdu.short_message, message_id)
            except ValueError:
                pass  # no id: field in the text; the TLV carries the id
        elif "message_payload" in tlvs:
            try:
                tlvs["message_payload"] = rewrite_id(tlvs["message_payload"], message_id)
            except ValueError:
                pass

    def _mo(self, connector, pdu):
        self.counters["mo"] += 1
        payload = pdu.short_message or pdu.tlvs.get("message_payload", b"")
        text = ""
        try:
            if alphabet_of(pdu.data_coding) != "binary":
                text = decode_text(payload, pdu.data_coding, errors="replace")
        except DecodeError:
            pass
        decision = self.routes.route_mo(MORequest(connector.name, pdu.source_addr,
                                                  pdu.destination_addr, text))
        if decision is None:
            self.counters["mo_unrouted"] += 1
            self.log.warn("{connector}: MO from {source} to {destination} matches no MO rule",
                          connector=connector.name, source=pdu.source_addr,
                          destination=pdu.destination_addr)
            return defer.succeed(Status.ESME_RX_P_APPN)
        return self._enqueue(decision.user, pdu, connector, "MO")

    def _enqueue(self, user, pdu, connector, what):
        pdu.sequence_number = 0
        d = self.store.enqueue(user, codec.encode(pdu))
        d.addCallback(lambda _: Status.ESME_ROK)
        d.addErrback(self._store_down, connector, what, pdu, user)
        return d

    def _store_down(self, failure, connector, what, pdu, user=None):
        # A temporary error makes the upstream deliver it again later: the
        # receipt or MO is not lost, it waits upstream.
        if failure.check(QueueFull):
            self.counters["queue_full"] += 1
            self.log.warn("{connector}: {what} for {user} refused, their queue is full "
                          "(max_queue); the upstream will send it again",
                          connector=connector.name, what=what, user=user)
        else:
            self.log.error("{connector}: {what} not queued: {error}", connector=connector.name,
                           what=what, error=failure.getErrorMessage())
        return Status.ESME_RX_T_APPN
