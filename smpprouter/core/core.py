"""The core as the faces see it: one object implementing both gateways.

It only dispatches: admission (binds, limits), the MT path, receipts, MO
and the outbound drainers each live in a module of their own, with one
reason to change each. This module wires them to one set of counters and
one view of the connectors.
"""

from twisted.internet import defer
from zope.interface import implementer

from ..policy import accounts
from ..protocol.gateway import IESMEGateway, ISMSCGateway
from ..smpp.status import Status
from .admission import Admission
from .credits import Credits
from .inbox import Inbox
from .messages import Outcome, QueryAnswer, Receipt
from .mo import MOPath
from .moparts import MOParts
from .hygiene import Hygiene
from .mt import MTPath
from .outbound import Drainer
from .receipts import Receipts
from .unasked import Unasked
from .upstreams import Upstream


class Counts(dict):
    """Core.counters: events by name; one never counted reads 0 (as in a
    Counter). Not a collections.Counter: its __delitem__, written in Python,
    sends every `counters[name] += 1` through a slot wrapper (160 against 87
    ns), and the paths every message takes count three or more times."""
    __slots__ = ()

    def __missing__(self, name):
        return 0


@implementer(IESMEGateway, ISMSCGateway)
class Core:
    def __init__(self, config, routes, store, ids, deliveries, clock, password_cache,
                 instance="router"):
        self.config = config
        self.store = store
        self.clock = clock
        self.deliveries = deliveries
        self.instance = instance
        self.system_id = config.router.name
        self.counters = Counts()
        metrics = config.metrics.enabled   # off: no counts kept only for the metrics
        self.connectors = {}    # name -> protocol.smsc.Connector
        self.upstreams = {}     # name -> Upstream
        self.drainers = {}      # name -> Drainer
        self.admission = Admission(config, store, clock, password_cache, instance, deliveries,
                                   self.counters)
        self.inbox = Inbox(store, self.counters, config.users)
        self.credits = Credits(store, config.users, self.counters)
        self.receipts = Receipts(store, self.inbox, clock, self.upstreams, self.counters,
                                 metrics, self.credits)
        self.mo = MOPath(routes, self.inbox, self.counters)
        self.mo.parts = MOParts(store, self.inbox, config.users, self.upstreams, clock,
                                self.counters, self.mo.user_for)
        # [log] message_text: lines about one message show its text (debugging)
        self.mo.show_text = self.receipts.show_text = config.log.message_text
        self.mt = MTPath(config, routes, store, ids, self.admission, clock, self.upstreams,
                         self.connectors, self.counters, metrics, self.credits)
        self.mt.unasked = self.receipts.unasked = Unasked()
        self.mt.hygiene = self.hygiene = Hygiene(store, clock)
        self.mt.own_receipt = self.receipts.own
        self._running = False
        self.spooling = None
        # Users whose `operations` leave out submit: ESME_RPROHIBITED on every submission.
        self._no_submit = frozenset(u.name for u in config.users.values()
                                    if accounts.SUBMIT not in u.operations)

    @property
    def routes(self):
        return self.mt.routes

    @routes.setter
    def routes(self, routes):
        """A reloaded routing table takes effect for the next message."""
        self.mt.routes = self.mo.routes = routes

    def add_connector(self, connector):
        name = connector.name
        self.connectors[name] = connector
        upstream = self.upstreams[name] = Upstream.from_config(connector.config)
        if upstream.receipt_timeout:   # core/timeouts.py
            self.store.watch_receipts(name, upstream.receipt_timeout)
        drainer = self.drainers[name] = Drainer(
            name, self.store, self.clock, self.instance, self.connectors, self.upstreams,
            self.receipts, self.config.outbound, self.config.redis.claim_idle, self.counters)
        if self._running:
            drainer.start()

    def start(self):
        self._running = True
        self.admission.start()
        self.hygiene.start()
        self.mo.parts.start()
        for drainer in self.drainers.values():
            drainer.start()
        if self.spooling is not None:
            self.spooling.start()   # replays what a crashed run left, once Redis answers

    def stop(self):
        self._running = False
        self.admission.stop()
        self.hygiene.stop()
        self.mo.parts.stop()
        for drainer in self.drainers.values():
            drainer.stop()

    # -- IESMEGateway ---------------------------------------------------------

    def authenticate(self, system_id, password, mode, session):
        return self.admission.authenticate(system_id, password, mode, session)

    def session_bound(self, session):
        self.admission.session_bound(session)

    def session_closed(self, session):
        self.admission.session_closed(session)

    def submit(self, session, submission, answer):
        no_submit = self._no_submit
        if no_submit and session.user in no_submit:   # empty for most routers: one test
            answer(Outcome(Status.ESME_RPROHIBITED))
            return
        self.mt.submit(submission, answer, False, 0, session.message_id_format)   # id_form

    def _prohibited(self, session, operation) -> bool:
        """Whether the user's `operations` leave this one out (policy/accounts.py)."""
        user = self.config.users.get(session.user)
        return user is not None and operation not in user.operations

    def query(self, session, message_id):
        if self._prohibited(session, accounts.QUERY):
            return defer.succeed(QueryAnswer(Status.ESME_RPROHIBITED))
        return defer.Deferred.fromCoroutine(self.mt.query(session.user, message_id))

    def cancel(self, session, message_id):
        if self._prohibited(session, accounts.CANCEL):
            return defer.succeed(Status.ESME_RPROHIBITED)
        return defer.Deferred.fromCoroutine(self.mt.cancel(session.user, message_id))

    def replace(self, session, message_id, body, schedule, validity, registered_delivery):
        if self._prohibited(session, accounts.REPLACE):
            return defer.succeed(Status.ESME_RPROHIBITED)
        return defer.Deferred.fromCoroutine(self.mt.replace(
            session.user, message_id, body, schedule, validity, registered_delivery))

    # -- ISMSCGateway ---------------------------------------------------------

    def upstream_deliver(self, connector, delivery, answer):
        self._deliver(connector.name, delivery, answer)

    def _deliver(self, name, delivery, answer):
        """upstream_deliver by connector name (the spool replays through it too)."""
        spooling = self.spooling
        if spooling is not None and not self.store.available:
            spooling.keep(name, delivery, answer)   # Redis is away: to local disk
        elif type(delivery) is Receipt:
            self.receipts.deliver(name, delivery, answer)
        else:
            self.mo.deliver(name, delivery, answer)

    def use_spool(self, spooling):
        """Keep receipts and MOs on local disk while Redis is away (core/spooling.py)."""
        self.spooling = self.inbox.spooling = self.receipts.spooling = spooling
        spooling.deliver = self._deliver
