"""MT: a user's message, from admission to the upstream or the outbound queue.

Two modes (docs/DESIGN.md):
- synchronous: sent upstream now, on the first route whose connector is up,
  the next on a retryable outcome; ESME_ROK only once the upstream accepted
  it and, when a receipt was asked for, its mapping is stored.
- store and forward (users with store_and_forward, and every scheduled
  message): ESME_ROK once the message is durable in its home connector's
  outbound queue or schedule; the outbound drainer sends it later and the
  router's own receipts report what the upstream never will.
Also what query_sm, cancel_sm and replace_sm ask of a message the router holds.

Before either, a user's business rules, each only where it is configured, in
this order: its sender ids (ESME_RINVSRCADR), a part it split itself (UDHI)
that is no SMS (smpp/segment.py part_status: ESME_RINVESMCLASS,
ESME_RINVMSGLEN), the content rules (core/content.py; 407), its destination to
E.164 (country_code; ESME_RINVDSTADR), the route's actions (policy/rewrite.py:
the message as rewritten is what goes upstream), the route's required TLVs
with the user's defaults (ESME_RMISSINGTLV, nothing charged), the route's
sending hours for promotional traffic (policy/hours.py: scheduled to the next
opening, or refused), the number lists, opt-in routes and duplicates
(core/hygiene.py), and for a prepaid user on a priced route the charge
(core/credits.py; ESME_RINVBALANCE when short, and nothing is sent). Messages
of other users take none of these steps.
"""

from dataclasses import replace

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure

from ..ids import normalise
from ..protocol.base import ResponseTimeoutError, SessionClosed
from ..protocol.smsc import ConnectorBusy, ConnectorUnavailable, Unsendable, UpstreamNack
from ..routing.interface import MTReject, MTRequest
from ..smpp.errors import DecodeError, EncodeError
from ..policy.numbers import E164
from ..policy.senders import sender_matcher
from ..policy.hours import PROMOTIONAL
from ..policy.tlvs import complete
from ..smpp.receipt import MessageState
from ..smpp.segment import part_status
from ..smpp.status import Status
from ..smpp.text import count_parts
from ..store.errors import QueueFull, StoreUnavailable
from ..store.interface import Mapping
from ..store.then import plain_forms
from ..metrics.histogram import Latency
from . import multipart
from .codec import CorruptEntry, Queued, decode_queued, encode_queued
from .messages import Outcome, QueryAnswer
from .hygiene import CONTENT, OUTSIDE_HOURS
from .content import ContentFilter
from .receipts import WANTS_RECEIPT
from .unasked import Unasked

# Upstream answers after which the next route is tried.
RETRYABLE_STATUS = frozenset((
    Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL, Status.ESME_RSYSERR, Status.ESME_RX_T_APPN,
))
# What an ESME hears while the store cannot record its message: nothing was sent,
# and ESME_RTHROTTLED is the one status every ESME library treats as "slow down
# and send it again" (ESME_RMSGQFUL is often taken per destination, or as final).
STORE_DOWN = Status.ESME_RTHROTTLED
# Failures of the attempt, not of the message: the next route may carry it.
ATTEMPT_FAILURES = (ConnectorUnavailable, ConnectorBusy, ResponseTimeoutError, SessionClosed,
                    DecodeError, UpstreamNack, Unsendable)
_HELD = ("S", "Q")
# Statuses counted as themselves in MTPath.submits; any other an upstream
# answers is counted as -1, so no upstream can grow the label set.
_KNOWN_STATUS = frozenset(Status)
# The member itself (an IntEnum) as a module constant: Status.ESME_ROK is a
# metaclass attribute lookup, 0.14 us, on lines every message takes.
_ROK = Status.ESME_ROK
NO_CONNECTOR = ""   # submits answered before any connector took them


def attempt_status(failure):
    """The status an ESME hears for a failed attempt when no route is left."""
    if failure.check(ConnectorBusy):
        return Status.ESME_RMSGQFUL
    if failure.check(Unsendable, UpstreamNack):
        return failure.value.status
    return Status.ESME_RSYSERR


def message_parts(s):
    """The parts an SMPP submission is charged for: one, unless its body is longer
    than one part without a UDH (it came in message_payload): then as the
    upstream will see it split. An ESME that split it (UDHI) sent each part."""
    if s.esm_class & 0x40 or len(s.body) <= 140:
        return 1
    try:
        return count_parts(payload=s.body, data_coding=s.data_coding)
    except Exception:   # an unknown data_coding: counted as octets
        return -(-len(s.body) // 134)


class MTPath:
    log = Logger()

    def __init__(self, config, routes, store, ids, admission, clock, upstreams, connectors,
                 counters, metrics=True, credits=None):
        self.config = config
        self.routes = routes
        self.store = store
        self.plain = plain_forms(store)   # the hot calls without a Deferred (store/then.py)
        self.ids = ids
        self.admission = admission
        self.clock = clock
        self.upstreams = upstreams     # name -> Upstream
        self.connectors = connectors   # name -> the connector face (up, submit)
        self.counters = counters
        self.unasked = Unasked()       # shared with the receipt path by Core
        # For the metrics only (None when they are off): answers by (user,
        # connector, status), and the time from submit to answer.
        self.submits = {} if metrics else None
        self.latency = Latency() if metrics else None
        self.credits = credits
        self.hygiene = None            # core/hygiene.py, set by Core
        self.own_receipt = None        # Receipts.own, set by Core
        self._senders = {u.name: sender_matcher(u.sender_ids)
                         for u in config.users.values() if u.sender_ids}
        self._e164 = {u.name: E164(u.country_code)
                      for u in config.users.values() if u.country_code}
        self.references = multipart.References()
        self.content = {}              # user -> ContentFilter.check (core/content.py)
        self._content = None

    def use_content(self, rules):
        """Swap in content rules (policy/content.py load_content), at start and reload."""
        self._content = ContentFilter(rules, self.clock)
        self.content = self._content.checks

    def _tally(self, user, connector, status):
        submits = self.submits
        if submits is not None:
            key = (user, connector, status)
            submits[key] = submits.get(key, 0) + 1

    # -- admission and routing ----------------------------------------------

    def submit(self, s, answer, queue=False, parts=0, id_form=None):
        """answer(Outcome) for a Submission, exactly once (see IESMEGateway.submit).

        queue: store and forward whatever the user's setting (the HTTP face's
        messages always are); parts: the message's length in SMS parts, for
        its receipts and its price (the HTTP face counts them; 0: counted here
        when a price needs it, see message_parts, else 1); id_form: how to write
        its id (ids.py), when the caller's session needs another form than the
        user's (a v3.3 session: SHORT)."""
        self.counters["submitted"] += 1
        # the message's one answer, observing the submit latency (_Attempt): the
        # synchronous path sends it as it is, every other path calls it
        answer = _Attempt(self, answer, None if self.latency is None else self.clock.seconds())
        try:
            user = self.config.users[s.user]
            form = id_form or user.message_id
            if user.throughput and not self.admission.allow(user):   # 0: unlimited
                self._reject(Status.ESME_RTHROTTLED, answer, s.user)
                return
            if user.sender_ids and not self._senders[user.name](s.source):
                self._reject(Status.ESME_RINVSRCADR, answer, s.user)
                return
            if s.esm_class & 0x40:   # split by the ESME: each part must be one SMS
                status = part_status(s.body, s.data_coding)
                if status:
                    self._reject(status, answer, s.user)
                    return
            if self.content:   # content rules (core/content.py): none, no cost
                check = self.content.get(user.name)
                if check is not None and check(s):
                    self._refused(CONTENT, s, user, answer, queue, parts, form)
                    return
            if user.country_code:
                destination = self._e164[user.name](s.destination, s.dest_ton)
                if destination is None:
                    self._reject(Status.ESME_RINVDSTADR, answer, s.user, True)
                    return
                s = replace(s, destination=destination, dest_ton=1, dest_npi=1)
            decision = self.routes.route_mt(MTRequest(
                user.name, user.groups, s.source, s.destination, s.service_type, s.dest_ton))
            if type(decision) is MTReject:
                self._reject(decision.status, answer, s.user, decision.bad_number)
                return
            source = s.source   # as the ESME sent it: what the sender list holds
            if decision.rewrite is not None:
                s = decision.rewrite.apply(s)   # what goes upstream (and into the mapping)
            if decision.required_tlvs:
                tlvs = complete(s.tlvs, decision.required_tlvs, user.tlv_defaults)
                if tlvs is None:
                    self._reject(Status.ESME_RMISSINGTLV, answer, s.user)
                    return
                if tlvs is not s.tlvs:
                    s = replace(s, tlvs=tlvs)
            if decision.hours is not None and (user.promotional
                                               or s.service_type == PROMOTIONAL):
                held = self._in_hours(s, decision)
                if held is None:
                    self._refused(OUTSIDE_HOURS, s, user, answer, queue, parts, form)
                    return
                s = held
            if decision.require_opt_in or user.duplicate_window or self.hygiene.active:
                self.hygiene.check(user, s, decision.require_opt_in, source).addCallbacks(
                    self._checked, self._unchecked,
                    (s, user, decision, answer, queue, parts, form), None, (s.user, answer))
                return
        except Exception:
            _unexpected(failure.Failure(), answer)
            return
        self._admitted(s, user, decision, answer, queue, parts, form)

    def _admitted(self, s, user, decision, answer, queue, parts, form):
        """The rest of submit, for a message the user's rules let through."""
        try:
            names = decision.connectors
            queued = queue or user.store_and_forward or s.schedule is not None
            amount = 0
            if decision.price is not None:
                parts = parts or message_parts(s)
                if user.prepaid:
                    amount = decision.price * parts
                else:
                    answer = self.credits.metering(user.name, decision.price * parts, parts,
                                                   answer)
            if ((queued or amount or s.registered_delivery & WANTS_RECEIPT)
                    and not self.store.available):
                # Never send upstream what could not be recorded: refused before
                # anything is sent, with a status ESMEs retry (docs/DESIGN.md).
                self.counters["refused_store_down"] += 1
                self._reject(STORE_DOWN, answer, s.user)
                return
            if amount:
                self._charge(s, user, decision, queued, answer, parts, amount, form)
                return
            if queued:
                self._store(s, user, names, answer, parts or 1, form)
                return
        except Exception:
            _unexpected(failure.Failure(), answer)
            return
        self._send(s, user, names, 0, None, answer, form)

    # -- hygiene: number lists and duplicates (core/hygiene.py) -----------------

    def _checked(self, result, s, user, decision, answer, queue, parts, form):
        refusal, fingerprint = result
        if refusal is None:
            if fingerprint is not None:
                answer = _forgetting(answer, self.store, fingerprint)
            self._admitted(s, user, decision, answer, queue, parts, form)
            return
        self._refused(refusal, s, user, answer, queue, parts, form)

    def _in_hours(self, s, decision):
        """s, or s scheduled to its route's next opening (outside_hours "wait"),
        or None when it is to be refused (outside_hours "refuse", or its
        validity ends before the window opens)."""
        now = self.clock.seconds()
        at = s.schedule if s.schedule is not None and s.schedule > now else now
        opening = decision.hours.opening(at)
        if opening is None:
            return s
        if decision.outside_hours == "refuse" or (s.validity is not None
                                                  and opening >= s.validity):
            return None
        self.counters["held_for_hours"] += 1
        return replace(s, schedule=opening)

    def _refused(self, refusal, s, user, answer, queue, parts, form):
        self.counters["refused_" + refusal.kind] += 1
        if not (queue or user.store_and_forward or s.schedule is not None):
            self._reject(refusal.status, answer, user.name)
            return
        # Store and forward: accepted, and the router's own REJECTD receipt
        # carries the seed's code, as the vendor's platform reports it.
        message_id = self.ids.new(form or user.message_id)
        parts = parts or message_parts(s)
        queued = Queued(message_id, self.clock.seconds(), (), s, parts, 0)
        self.own_receipt(queued, MessageState.REJECTED, refusal.code).addCallbacks(
            self._refused_reported, self._not_stored, (message_id, parts, user.name, answer),
            None, (NO_CONNECTOR, user.name, answer))

    def _refused_reported(self, _, message_id, parts, user, answer):
        self.counters["rejected"] += 1
        self._tally(user, NO_CONNECTOR, Status.ESME_ROK)
        answer(Outcome(Status.ESME_ROK, message_id, parts))

    def _unchecked(self, failure, user, answer):
        # The lists could not be read (Redis is away: the store logs that, not
        # each message): nothing is sent that they might forbid; a status the
        # ESME retries.
        if not failure.check(StoreUnavailable):
            _unexpected(failure, answer)
            return
        self.counters["refused_store_down"] += 1
        self._reject(STORE_DOWN, answer, user)

    def _reject(self, status, answer, user, bad_number=False):
        self.counters["rejected"] += 1
        self._tally(user, NO_CONNECTOR, status)
        answer(Outcome(status, bad_number=bad_number) if bad_number else Outcome(status))

    # -- prepaid: charged before anything is sent -------------------------------

    def _charge(self, s, user, decision, queued, answer, parts, amount, form):
        names = decision.connectors
        message_id = self.ids.new(form)
        # The marker (what a refund takes) lives while a refund may come: the
        # message's validity when queued, its receipt's wait for UNDELIV.
        undelivered = (max((self.upstreams[n].dlr_expiry for n in names if n in self.upstreams),
                           default=0) if decision.refund_undelivered else 0)
        ttl = undelivered
        if queued:
            now = self.clock.seconds()
            outbound = self.config.outbound
            validity = min(s.validity or now + outbound.default_validity,
                           now + outbound.max_validity)
            ttl = max(1, int(validity - now)) + undelivered + self.config.redis.claim_idle + 60
        self.credits.charge(user, amount, message_id, ttl, "u" if undelivered else "",
                            decision.rule).addCallbacks(
            self._charged, self._not_charged,
            (s, user, names, queued, answer, parts, amount, message_id, ttl > 0, form), None,
            (user, message_id, answer))

    def _charged(self, ok, s, user, names, queued, answer, parts, amount, message_id, marked,
                 form):
        if not ok:
            self._reject(Status.ESME_RINVBALANCE, answer, user.name)
            return
        answer = self.credits.refunding(user.name, message_id, amount, marked, answer)
        try:
            if queued:
                self._store(s, user, names, answer, parts, form, message_id, amount)
            else:
                self._send(s, user, names, 0, None, answer, form, message_id)
        except Exception:
            _unexpected(failure.Failure(), answer)

    def _not_charged(self, failure, user, message_id, answer):
        # Nothing is sent. Had the script run before the failure (a timeout), the
        # ledger shows a charge of message_id that nothing used: logged to match.
        self.counters["charges_failed"] += 1
        self.log.error("user {user}: charge for {message_id} failed, message refused: "
                       "{error}", user=user.name, message_id=message_id,
                       error=failure.getErrorMessage())
        answer(Outcome(STORE_DOWN))

    # -- synchronous ----------------------------------------------------------
    #
    # Each step ends in answer(Outcome) (or the next step): plain callbacks,
    # no Deferred of our own, on the path every message takes.

    def _send(self, s, user, names, index, last_status, answer, form, message_id=None):
        connectors = self.connectors
        while index < len(names):
            connector = connectors.get(names[index])
            # accepting: a bind is up, or was within its hold_unbound (the
            # connector holds the message until one is back)
            if connector is not None and connector.accepting:
                break
            index += 1
        else:
            self.counters["failed"] += 1
            status = last_status if last_status is not None else Status.ESME_RSYSERR
            self._tally(user.name, NO_CONNECTOR, status)
            answer(Outcome(status))
            return
        upstream = self.upstreams.get(connector.name)
        if upstream is not None and upstream.splits and (
                len(s.body) > upstream.splits or s.datagram):
            # may not fit one SMS of an upstream that takes no message_payload
            try:
                parts = multipart.plan(s, upstream, self.references.next(upstream.split))
            except (EncodeError, ValueError) as e:
                self._send(s, user, names, index + 1, getattr(e, "status",
                           Status.ESME_RINVDCS), answer, form, message_id)
                return
            if parts is not None:
                if len(parts) > 1:
                    self._send_parts(parts, s, user, names, index, connector, answer, form,
                                     message_id)
                    return
                s = parts[0]   # a data_sm that fits: as submit_sm
        if type(answer) is _Attempt:   # submit's own: the attempt takes its fields (no copy)
            a = answer
        else:   # wrapped on the way (a charge, a duplicate's fingerprint): timed inside
            a = _Attempt(self, answer, None)
        a.s, a.user, a.names, a.index, a.connector = s, user, names, index, connector
        a.form, a.message_id = form, message_id
        connector.send(s, a)

    def _not_answered(self, failure, a):
        # (an exception of either step reaches _unexpected: answer is always called)
        if failure.check(*ATTEMPT_FAILURES):
            self._send(a.s, a.user, a.names, a.index + 1, attempt_status(failure), a, a.form,
                       a.message_id)
        else:
            _unexpected(failure, a)

    def _answered(self, resp, a):
        """The upstream's (status, message_id) for the attempt a."""
        status, upstream_id = resp
        s, user, connector, form = a.s, a.user, a.connector, a.form
        message_id = a.message_id
        answer = a   # the message's answer (timed)
        if status != _ROK:
            if status in RETRYABLE_STATUS:
                self._send(s, user, a.names, a.index + 1, status, answer, form, message_id)
                return
            self.counters["failed"] += 1
            self._tally(user.name, connector.name,
                        status if status in _KNOWN_STATUS else -1)
            answer(Outcome(status))
            return
        if message_id is None:   # a charged message has had its id since the charge
            message_id = self.ids.new(form)
        name = connector.name
        if not s.registered_delivery & WANTS_RECEIPT:
            self.counters["accepted"] += 1
            self._tally(user.name, name, _ROK)
            answer(Outcome(_ROK, message_id))
            if self.unasked.armed:   # empty while upstreams send only receipts asked for
                self._sent_unasked(connector.name, upstream_id, user, s, message_id)
            return
        upstream = self.upstreams[name]
        key = normalise(upstream_id, upstream.resp_form)
        if not key:
            # Nothing to correlate a receipt with: the promise is no ESME_ROK then.
            self._uncorrelated(user, name, answer)
            return
        mapping = Mapping(message_id, user.name, s.source, s.destination,
                          self.clock.seconds(), 1, s.registered_delivery)
        # the attempt waits again, now for its mapping (_Attempt)
        a.message_id = message_id
        a.upstream_id = upstream_id
        # record: the message's record in state SENT beside the mapping, for query_sm
        self.plain.save_mapping_then(a, name, key, mapping, upstream.dlr_expiry, True)

    # -- a message the router splits (core/multipart.py) ------------------------

    def _send_parts(self, parts, s, user, names, index, connector, answer, form, message_id):
        """Every part at once through connector (its window and rate pace them);
        the user hears once, when every part has its answer."""
        defer.DeferredList([connector.submit(part) for part in parts], consumeErrors=True) \
            .addCallback(self._parts_answered, s, user, names, index, connector, answer, form,
                         message_id, len(parts)).addErrback(_unexpected, answer)

    def _parts_answered(self, results, s, user, names, index, connector, answer, form,
                        message_id, total):
        """All accepted: ESME_ROK, once every part's mapping is stored. None accepted:
        as for one message (the next route when the failure is the attempt's).
        Some: the message failed with the first refused part's status, and no other
        route is tried (the handset has parts already); the accepted parts are
        mapped without a receipt, so their receipts end quietly (docs/DESIGN.md)."""
        name = connector.name
        accepted, failure = [], None
        for seq, (ok, value) in enumerate(results, 1):
            if ok and value[0] == Status.ESME_ROK:
                accepted.append((seq, value[1]))
            elif failure is None:
                failure = value   # (status, id), or a Failure
        if failure is not None and not accepted:
            attempt = _Attempt(self, answer, None)
            attempt.s, attempt.user, attempt.names, attempt.index = s, user, names, index
            attempt.connector, attempt.form, attempt.message_id = connector, form, message_id
            if type(failure) is tuple:
                self._answered(failure, attempt)
            else:
                self._not_answered(failure, attempt)
            return
        upstream = self.upstreams[name]
        if message_id is None:
            message_id = self.ids.new(form)
        wanted = s.registered_delivery & WANTS_RECEIPT
        if failure is not None:
            status = failure[0] if type(failure) is tuple else attempt_status(failure)
            self.counters["failed"] += 1
            self.counters["parts_orphaned"] += len(accepted)
            self._tally(user.name, name, status if status in _KNOWN_STATUS else -1)
            self.log.warn("{connector}: {sent} of {total} parts of a message of {user} "
                          "accepted, then {status:#x}: the message failed",
                          connector=name, sent=len(accepted), total=total, user=user.name,
                          status=status)
            answer(Outcome(status))
            if wanted and self.store.available:
                self._map_parts(accepted, s, user, upstream, message_id, total, 0)
            return
        if not wanted:
            self.counters["accepted"] += 1
            self._tally(user.name, name, Status.ESME_ROK)
            answer(Outcome(Status.ESME_ROK, message_id, total))
            return
        saved = self._map_parts(accepted, s, user, upstream, message_id, total,
                                s.registered_delivery)
        if saved is None:
            self._uncorrelated(user, name, answer)
            return
        saved.addCallbacks(self._parts_mapped, self._not_mapped,
                           (message_id, user.name, name, answer, total), None,
                           (name, message_id, user.name, answer))

    def _uncorrelated(self, user, name, answer):
        """An upstream ESME_ROK without a message_id: nothing to correlate a
        receipt with, so the ESME is not told ESME_ROK."""
        self.counters["failed"] += 1
        self._tally(user.name, name, Status.ESME_RSYSERR)
        self.log.error("{connector}: submit_sm_resp ESME_ROK without a message_id; the "
                       "receipt could not be correlated, refused", connector=name)
        answer(Outcome(Status.ESME_RSYSERR))

    def _map_parts(self, accepted, s, user, upstream, message_id, total, registered_delivery):
        """Deferred once every accepted part's mapping is stored (None when a part
        has no id to map); the first also records the message for query_sm."""
        keys = [normalise(upstream_id, upstream.resp_form) for _, upstream_id in accepted]
        if not all(keys):
            return None
        now = self.clock.seconds()
        saves = [self.store.save_mapping(
            upstream.name, key, Mapping(message_id, user.name, s.source, s.destination, now,
                                        total, registered_delivery, "", s.reference, seq),
            upstream.dlr_expiry, record=(seq == accepted[0][0] and registered_delivery > 0))
            for (seq, _), key in zip(accepted, keys)]
        return defer.gatherResults(saves, consumeErrors=True)

    def _parts_mapped(self, _, message_id, user, connector, answer, total):
        self.counters["accepted"] += 1
        self._tally(user, connector, Status.ESME_ROK)
        answer(Outcome(Status.ESME_ROK, message_id, total))

    def _sent_unasked(self, name, upstream_id, user, s, message_id):
        """A receipt-less message went out on a connector whose receipts were
        once missing their mapping: remember it, and store a marker where this
        upstream is known to send receipts nobody asked for (core/unasked.py)."""
        upstream = self.upstreams[name]
        key = normalise(upstream_id, upstream.resp_form)
        if key and self.unasked.sent(name, key) and self.store.available:
            mapping = Mapping(message_id, user.name, s.source, s.destination,
                              self.clock.seconds(), 1, s.registered_delivery)
            self.store.save_mapping(name, key, mapping, upstream.dlr_expiry).addErrback(
                self._marker_lost)

    def _marker_lost(self, failure):
        # Only costs its receipt a wait (parked, as without markers); counted,
        # not logged per message.
        self.counters["unasked_markers_lost"] += 1

    def _mapped(self, a):
        self.counters["accepted"] += 1
        submits = self.submits
        if submits is not None:   # _tally, inline: every message with a receipt ends here
            key = (a.user.name, a.connector.name, _ROK)
            submits[key] = submits.get(key, 0) + 1
        a.finish(Outcome(_ROK, a.message_id))

    def _not_mapped(self, failure, connector, upstream_id, user, answer):
        # The upstream has the message, but its receipt could never be
        # correlated: the ESME must not hear ESME_ROK. Redis failed while it was
        # in flight upstream: the window `available` cannot close, counted.
        self.counters["failed"] += 1
        self.counters["sent_unrecorded"] += 1
        self._tally(user, connector, Status.ESME_RSYSERR)
        self.log.error("{connector}: accepted as {upstream_id!r} but its mapping could not be"
                       " stored: {error}", connector=connector, upstream_id=upstream_id,
                       error=failure.getErrorMessage())
        answer(Outcome(Status.ESME_RSYSERR))

    # -- store and forward ----------------------------------------------------

    def _store(self, s, user, names, answer, parts, form, message_id=None, charged=0):
        now = self.clock.seconds()
        outbound = self.config.outbound
        validity = s.validity
        limit = now + outbound.max_validity
        if validity is None:
            validity = now + outbound.default_validity
        elif validity <= now:
            self._reject(Status.ESME_RINVEXPIRY, answer, user.name)
            return
        validity = min(validity, limit)
        due = s.schedule if s.schedule is not None and s.schedule > now else None
        if due is not None and due >= validity:
            self._reject(Status.ESME_RINVSCHED, answer, user.name)
            return
        # Home: the first route up here; it holds the message's keys for good.
        home = next((n for n in names if n in self.connectors and self.connectors[n].up),
                    names[0])
        routes = names[names.index(home):] + names[:names.index(home)]
        if message_id is None:
            message_id = self.ids.new(form)
        queued = Queued(message_id, now, tuple(routes),
                        replace(s, schedule=due, validity=validity), parts, charged)
        ttl = int(validity - now) + self.upstreams[home].dlr_expiry
        d = self.store.enqueue_outbound(home, message_id, user.name, encode_queued(queued),
                                        1 if s.priority else 0, due, ttl, validity)
        d.addCallbacks(self._stored, self._not_stored, (message_id, parts, user.name, home,
                                                        answer), None, (home, user.name, answer))

    def _stored(self, _, message_id, parts, user, home, answer):
        self.counters["queued"] += 1
        self._tally(user, home, Status.ESME_ROK)
        answer(Outcome(Status.ESME_ROK, message_id, parts))

    def _not_stored(self, failure, home, user, answer):
        self.counters["failed"] += 1
        if failure.check(QueueFull):
            self.log.warn("{connector}: outbound queue full, message refused", connector=home)
            status = Status.ESME_RMSGQFUL
        else:
            self.log.error("{connector}: message not queued: {error}", connector=home,
                           error=failure.getErrorMessage())
            # Nothing was sent: a status the ESME retries.
            status = STORE_DOWN if failure.check(StoreUnavailable) else Status.ESME_RSYSERR
        self._tally(user, home, status)
        answer(Outcome(status))

    # -- query, cancel, replace -------------------------------------------------

    async def record(self, user, message_id):
        """The store's MessageRecord of user's message, or None (None for user:
        whoever owns it)."""
        if not message_id:
            return None
        record = await self.store.get_message(list(self.upstreams), message_id)
        if record is None or (user is not None and record.user != user):
            return None   # another user's id is no different from an unknown one
        return record

    async def query(self, user, message_id):
        record = await self.record(user, message_id)
        if record is None:
            return QueryAnswer(Status.ESME_RQUERYFAIL)
        state = record.state
        if state.isdigit():
            return QueryAnswer(Status.ESME_ROK, int(state), record.final_date,
                               record.error_code)
        return QueryAnswer(Status.ESME_ROK, MessageState.ENROUTE, 0.0, record.error_code)

    async def cancel(self, user, message_id):
        record = await self.record(user, message_id)
        if record is None or record.state not in _HELD:
            return Status.ESME_RCANCELFAIL
        if not await self.store.cancel_message(record.connector, message_id, user):
            return Status.ESME_RCANCELFAIL
        self.counters["cancelled"] += 1
        if record.blob is not None and user in self.credits.prepaid:
            try:
                charged = decode_queued(record.blob).charged
            except CorruptEntry:
                charged = 0
            if charged:   # never sent: the charge goes back (its marker, once)
                await self.credits.refund(user, message_id, 0, True, "cancelled")
        return Status.ESME_ROK

    async def replace(self, user, message_id, body, schedule, validity, registered_delivery):
        record = await self.record(user, message_id)
        if record is None or record.state not in _HELD or record.blob is None:
            return Status.ESME_RREPLACEFAIL
        try:
            queued = decode_queued(record.blob)
        except CorruptEntry:
            return Status.ESME_RREPLACEFAIL
        now = self.clock.seconds()
        s = queued.submission
        changes = dict(body=body, registered_delivery=registered_delivery)
        if validity is not None:
            if validity <= now:
                return Status.ESME_RINVEXPIRY
            changes["validity"] = min(validity, now + self.config.outbound.max_validity)
        due = None
        if schedule is not None and schedule > now:
            due = changes["schedule"] = schedule
        queued = replace(queued, submission=replace(s, **changes))
        if not await self.store.replace_message(record.connector, message_id, user,
                                                encode_queued(queued), due,
                                                changes.get("validity")):
            return Status.ESME_RREPLACEFAIL
        return Status.ESME_ROK


def _forgetting(answer, store, key):
    """answer, dropping a duplicate fingerprint when the message is not accepted
    after all (the user may send it again)."""
    def forgetting(outcome):
        if outcome.status != Status.ESME_ROK:
            store.forget(key).addErrback(lambda f: None)
        answer(outcome)
    return forgetting


def _unexpected(failure, answer):
    """A bug in a step of the MT path: the caller still gets its one answer.
    Never raises: its callers are the store's and the connector's reply loops,
    where an exception would fail the rest of their batch."""
    MTPath.log.failure("a submission failed", failure)
    try:
        answer(Outcome(Status.ESME_RSYSERR))
    except Exception:
        MTPath.log.failure("a submission's answer failed")


class _Attempt:
    """A message's answer, and on the synchronous path the state of its
    attempt on a connector with its two waits: the upstream's answer (it is
    Connector.send's reply), then, once accepted with a receipt asked for, its
    mapping's save (the store's Then).

    Called with an Outcome (finish), it observes the submit latency (from
    submit, once: start is None where it wraps an answer that does) and answers.
    submit makes one per message; _send fills in the attempt's fields. One
    slotted object for the answer and both waits: a timing closure (five cells)
    and a Then with its argument tuple per wait cost ~1 us more per message.
    What a step raises answers the ESME ESME_RSYSERR, as a Then's broken would."""
    __slots__ = ("mt", "answer", "start", "s", "user", "names", "index", "connector", "form",
                 "message_id", "upstream_id", "called")

    def __init__(self, mt, answer, start):
        self.mt = mt
        self.answer = answer   # the caller's
        self.start = start     # the clock at submit; None: not observed here
        self.message_id = None
        self.upstream_id = None   # set when the upstream accepted it: the mapping's wait
        self.called = False       # the store's batches read it (the mapping's wait only)

    def finish(self, outcome):
        start = self.start
        if start is not None:
            mt = self.mt
            mt.latency.observe(mt.clock.seconds() - start)
        self.answer(outcome)

    __call__ = finish   # the answer every path other than the synchronous one calls

    def callback(self, result):
        try:
            if self.upstream_id is None:
                self.mt._answered(result, self)
            else:
                self.called = True
                self.mt._mapped(self)
        except Exception:
            _unexpected(failure.Failure(), self)

    def errback(self, error=None):
        reason = error if isinstance(error, failure.Failure) else failure.Failure(error)
        try:
            if self.upstream_id is None:
                self.mt._not_answered(reason, self)
            else:
                self.called = True
                self.mt._not_mapped(reason, self.connector.name, self.upstream_id,
                                    self.user.name, self)
        except Exception:
            _unexpected(failure.Failure(), self)
