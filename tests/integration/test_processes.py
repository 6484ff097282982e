"""Several real router processes sharing one real Redis, as in production.

Each test runs two `twistd smpprouter --worker I` processes (A = worker 0,
B = worker 1), each with its own listening port and one bind to a
SimulatedSMSC in the test process, and a redis-server of the test class's
own (so a test can stop and restart it). ESMEs choose their process by port.
Every test counts messages at both ends: what the ESMEs sent and received,
what the SMSC received and how its receipts were acknowledged, and what is
left in Redis.
"""

import atexit
import collections
import time

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status, status_name
from tests.redis_server import RedisServer

from ..store.support import wait_for
from .harness import PASSWORDS, run
from .processes import RouterProcesses

A, B = 0, 1
ROK = Status.ESME_ROK
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)
CLAIM_IDLE = 1           # [redis] claim_idle of these tests, seconds
SHUTDOWN_TIMEOUT = 5     # [smpp] shutdown_timeout of the shutdown test, seconds
# What a submit may get while the router cannot store its mapping.
STORE_DOWN_STATUSES = frozenset((Status.ESME_RSYSERR, Status.ESME_RMSGQFUL,
                                 Status.ESME_RTHROTTLED))


def receipt_id(pdu):
    """The router's id a receipt carries (TLV), checked against its text's id: field."""
    tlv = pdu.tlvs.get("receipted_message_id")
    text = parse_receipt(pdu.short_message)
    if text is None or text.id != tlv:
        raise AssertionError("receipt TLV id %r and text id %r differ: %r"
                             % (tlv, text and text.id, pdu.short_message))
    return tlv


def statuses(resps):
    return dict(collections.Counter(status_name(r.command_status) for r in resps))


def submit_all(client, count, **fields):
    """count submit_sm at once (the client's window paces them); their resps in order."""
    return defer.gatherResults([client.submit(**dict(MESSAGE, **fields))
                                for _ in range(count)], consumeErrors=True)


class AckingReceiver:
    """deliver_resp_status for an ESME that acknowledges everything, and notices
    any receipt arriving again after it was acknowledged."""

    def __init__(self):
        self.received = collections.Counter()   # router id -> arrivals
        self.acked = set()
        self.after_ack = []                      # ids that arrived after their ack

    def __call__(self, pdu):
        rid = receipt_id(pdu)
        self.received[rid] += 1
        if rid in self.acked:
            self.after_ack.append(rid)
        self.acked.add(rid)
        return ROK


class ProcessTestCase(TestCase):
    timeout = 60
    workers = 2
    harness_args = {}
    redis = None    # one RedisServer per test class, started on first use

    def setUp(self):
        cls = type(self)
        if cls.__dict__.get("redis") is None:
            cls.redis = RedisServer()
            atexit.register(cls.redis.cleanup)
        if not cls.redis.running:
            cls.redis.start()
        cls.redis.command("FLUSHALL")
        args = dict(self.harness_args)
        args.setdefault("redis_config", "claim_idle = %d" % CLAIM_IDLE)
        self.h = RouterProcesses(cls.redis, workers=self.workers, **args)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def until(self, predicate, timeout, what, title=None):
        """wait_for(predicate), failing with title (default: what's docstring),
        what() (the state reached) and the workers' logs."""
        try:
            await wait_for(predicate, timeout)
        except AssertionError:
            raise AssertionError("%s: not reached within %.0f s; %s\n%s" % (
                title or what.__doc__ or "condition", timeout, what(),
                self.h.describe())) from None

    def smsc_acks(self):
        return {status_name(k): v for k, v in self.h.smsc.deliver_resp_statuses.items()}

    async def acked(self, count, timeout=20):
        """Until the SMSC has count answers to its receipts: the ESME may hold
        a receipt before the router's deliver_sm_resp has reached the SMSC."""
        def state():
            """the SMSC's receipts answered"""
            return "SMSC acks %s, %d expected" % (self.smsc_acks(), count)
        await self.until(lambda: sum(self.h.smsc.deliver_resp_statuses.values()) >= count,
                         timeout, state)


class CrossProcessReceiptTests(ProcessTestCase):
    def test_receipts_of_submits_on_a_arrive_on_b(self):
        """TX on A, RX on B: 200 receipts on B with the router's ids, none duplicated."""
        async def go():
            tx = await self.h.bind(A, "transmitter")
            rx = await self.h.bind(B, "receiver")
            resps = await submit_all(tx, 200)
            self.assertEqual(statuses(resps), {"ESME_ROK": 200})
            ids = [r.message_id for r in resps]
            self.assertEqual(len(set(ids)), 200, "router ids are not unique")

            def state():
                """200 receipts on B, the queue empty"""
                return "B got %d, XLEN %d, SMSC acks %s" % (
                    len(rx.deliveries), self.h.xlen(), self.smsc_acks())
            await self.until(lambda: len(rx.deliveries) >= 200 and self.h.xlen() == 0,
                             20, state)
            await rx.enquire_link()    # whatever the router wrote before is read now
            got = [receipt_id(d) for d in rx.deliveries]
            self.assertEqual(len(got), 200, "duplicates: %s" % [
                i for i, n in collections.Counter(got).items() if n > 1][:10])
            self.assertEqual(sorted(got), sorted(ids))
            self.assertEqual(tx.deliveries, [])
            # The SMSC end: 200 messages, 200 receipts, each acknowledged once.
            self.assertEqual(self.h.smsc.message_count, 200)
            self.assertEqual(self.h.smsc.receipts_generated, 200)
            await self.acked(200)
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": 200})
        return run(go())

    def test_receipts_wait_for_an_offline_user_and_keep_their_order(self):
        """No receiver anywhere: 50 receipts queue in Redis; an RX on B gets them in order."""
        async def go():
            tx = await self.h.bind(A, "transmitter")
            ids = []
            for k in range(50):
                resp = await tx.submit(**MESSAGE)
                self.assertEqual(resp.command_status, ROK)
                ids.append(resp.message_id)
                # Receipts reach the two processes round-robin; waiting for each
                # to be queued makes the queue's order the submission order.

                def queued():
                    return "XLEN %d, SMSC acks %s" % (self.h.xlen(), self.smsc_acks())
                await self.until(lambda k=k: self.h.xlen() == k + 1, 10, queued,
                                 "receipt %d queued" % k)
            self.assertEqual(self.h.xlen(), 50)

            def acked():
                return "SMSC acks %s" % self.smsc_acks()
            # The router answers the SMSC once the entry is queued: a moment after XLEN.
            await self.until(lambda: self.h.smsc.deliver_resp_statuses[ROK] == 50, 10, acked,
                             "50 receipts acknowledged to the SMSC")
            await self.acked(50)
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": 50})
            rx = await self.h.bind(B, "receiver")

            def state():
                """50 receipts on B, the queue empty"""
                return "B got %d, XLEN %d" % (len(rx.deliveries), self.h.xlen())
            await self.until(lambda: len(rx.deliveries) >= 50 and self.h.xlen() == 0, 15,
                             state)
            await rx.enquire_link()
            self.assertEqual([receipt_id(d) for d in rx.deliveries], ids)
            self.assertEqual(tx.deliveries, [])
            self.assertEqual(self.h.smsc.message_count, 50)
        return run(go())

    def test_refused_receipt_is_delivered_again_and_acked_once(self):
        """The ESME answers ESME_RX_T_APPN the first time: each receipt comes twice."""
        async def go():
            answers = collections.defaultdict(list)

            def answer(pdu):
                rid = receipt_id(pdu)
                status = Status.ESME_RX_T_APPN if not answers[rid] else ROK
                answers[rid].append(status)
                return status
            rx = await self.h.bind(B, "receiver", deliver_resp_status=answer)
            tx = await self.h.bind(A, "transmitter")
            resps = await submit_all(tx, 20)
            self.assertEqual(statuses(resps), {"ESME_ROK": 20})
            ids = [r.message_id for r in resps]

            def state():
                """40 deliveries (each receipt twice), the queue empty"""
                return "B got %d, XLEN %d, answers %s" % (
                    len(rx.deliveries), self.h.xlen(), dict(collections.Counter(
                        tuple(a) for a in answers.values())))
            await self.until(lambda: len(rx.deliveries) >= 40 and self.h.xlen() == 0, 20,
                             state)
            await rx.enquire_link()
            self.assertEqual(sorted(answers), sorted(ids))
            for rid in ids:
                self.assertEqual(answers[rid], [Status.ESME_RX_T_APPN, ROK], rid)
            self.assertEqual(len(rx.deliveries), 40)
            self.assertEqual(self.h.xlen(), 0)
            await self.acked(20)
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": 20})
        return run(go())


class KillTests(ProcessTestCase):
    """kill -9 of the process holding 1,000 pending receipts."""
    timeout = 90
    COUNT = 1000

    async def pending_on_a(self):
        """An RX on A that never answers, 1,000 receipts of submits on B, then
        kill -9 A. Returns the router ids."""
        held = await self.h.bind(A, "receiver", deliver_resp_status=None)
        tx = await self.h.bind(B, "transmitter")
        resps = await submit_all(tx, self.COUNT)
        self.assertEqual(statuses(resps), {"ESME_ROK": self.COUNT})
        ids = [r.message_id for r in resps]

        def accepted():
            """the router accepted every receipt, and A took some"""
            return "SMSC acks %s, pending in the group %d, A's RX got %d" % (
                self.smsc_acks(), self.h.pending_count(), len(held.deliveries))
        await self.until(lambda: self.h.smsc.deliver_resp_statuses[ROK] == self.COUNT
                         and self.h.pending_count() > 0 and held.deliveries, 30, accepted)
        self.assertEqual(self.smsc_acks(), {"ESME_ROK": self.COUNT})
        self.assertEqual(self.h.xlen(), self.COUNT)   # nothing acknowledged
        self.taken_by_a = self.h.pending_count()
        await self.h.kill9(A)
        await held.wait_closed()
        self.assertEqual(self.h.xlen(), self.COUNT)
        return ids

    async def receive_all(self, i, ids, timeout):
        receiver = AckingReceiver()
        rx = await self.h.bind(i, "receiver", deliver_resp_status=receiver)
        wanted = set(ids)

        def state():
            """every receipt delivered and acknowledged"""
            return ("%d of %d ids received (%d deliveries), XLEN %d, pending %d "
                    "(A had taken %d)" % (len(wanted & set(receiver.received)), len(wanted),
                                          len(rx.deliveries), self.h.xlen(),
                                          self.h.pending_count(), self.taken_by_a))
        await self.until(lambda: wanted <= set(receiver.received) and self.h.xlen() == 0,
                         timeout, state)
        await rx.enquire_link()
        self.assertEqual(set(receiver.received), wanted)
        self.assertEqual(receiver.after_ack, [],
                         "%d deliveries after their ack" % len(receiver.after_ack))
        self.assertEqual(self.h.xlen(), 0)
        return receiver

    def test_restarted_process_delivers_what_it_held(self):
        async def go():
            ids = await self.pending_on_a()
            await self.h.start_worker(A)
            await self.receive_all(A, ids, 30)
            self.assertEqual(self.h.smsc.message_count, self.COUNT)
        return run(go())

    def test_other_process_takes_over_after_claim_idle(self):
        async def go():
            ids = await self.pending_on_a()
            await self.receive_all(B, ids, CLAIM_IDLE + 15)
            self.assertEqual(self.h.smsc.message_count, self.COUNT)
        return run(go())


class RedisRestartTests(ProcessTestCase):
    """Redis stops half-way through a run and comes back with its AOF."""
    harness_args = dict(smsc=dict(retry_deliveries=True, retry_delay=0.2))
    timeout = 90
    PACE = 0.01      # seconds between submits: a bounded rate, not synchronisation

    def test_redis_restart_mid_run(self):
        async def go():
            trx = await self.h.bind(A, "transceiver", deliver_resp_status=AckingReceiver())
            receiver = trx.deliver_resp_status
            sent = collections.Counter()
            results = []    # (phase, resp)

            async def send(count, phase):
                ds = []
                for _ in range(count):
                    d = trx.submit(**MESSAGE)
                    d.addCallback(lambda resp, phase=phase: results.append((phase, resp)))
                    sent[phase] += 1
                    ds.append(d)
                    await task.deferLater(reactor, self.PACE, lambda: None)
                return ds

            before = await send(150, "before")
            await defer.gatherResults(before, consumeErrors=True)
            reached = self.h.smsc.message_count
            self.redis.stop()
            down = await send(30, "down")
            # Every submit sent while Redis was down is answered before it is back.
            await defer.gatherResults(down, consumeErrors=True)
            down_statuses = [r.command_status for p, r in results if p == "down"]
            self.assertEqual(len(down_statuses), 30)
            self.assertNotIn(ROK, down_statuses,
                             "ESME_ROK while Redis was down: %s" % statuses(
                                 [r for p, r in results if p == "down"]))
            self.assertEqual(set(down_statuses) - STORE_DOWN_STATUSES, set(),
                             statuses([r for p, r in results if p == "down"]))
            # Refused before anything was sent: none of them reached the SMSC
            # (the first may have been on its way when Redis went).
            self.assertLessEqual(self.h.smsc.message_count - reached, 1)
            self.assertGreaterEqual(down_statuses.count(Status.ESME_RTHROTTLED), 29)
            self.redis.start()
            back = time.monotonic()
            # The router recovers by itself: submit until one is accepted again.
            deadline = time.monotonic() + 20
            while True:
                resp = await trx.submit(**MESSAGE)
                sent["recovering"] += 1
                results.append(("recovering", resp))
                if resp.command_status == ROK:
                    # traffic resumes within 2 s of Redis being back
                    self.assertLess(time.monotonic() - back, 2.0)
                    break
                self.assertLess(time.monotonic(), deadline,
                                "no ESME_ROK 20 s after Redis came back: %s\n%s" % (
                                    statuses([r for p, r in results if p == "recovering"]),
                                    self.h.describe()))
                await task.deferLater(reactor, 0.1, lambda: None)
            after = await send(120, "after")
            await defer.gatherResults(before + after, consumeErrors=True)
            self.assertEqual(len(results), sum(sent.values()))
            self.assertEqual(statuses([r for p, r in results if p == "after"]),
                             {"ESME_ROK": 120})
            accepted = {r.message_id for _, r in results if r.command_status == ROK}
            self.assertEqual(len(accepted), sum(1 for _, r in results
                                                if r.command_status == ROK))

            def state():
                """a receipt for every ESME_ROK"""
                missing = accepted - set(receiver.received)
                return ("%d accepted (%s before the stop), %d receipts missing, XLEN %d, "
                        "SMSC acks %s" % (len(accepted), statuses(
                            [r for p, r in results if p == "before"]), len(missing),
                            self.h.xlen(), self.smsc_acks()))
            await self.until(lambda: accepted <= set(receiver.received)
                             and self.h.xlen() == 0, 40, state)
            await trx.enquire_link()
            self.assertEqual(set(receiver.received), accepted)
            # The SMSC end: it got every submit the router did not refuse before
            # sending (ESME_RTHROTTLED: the store was down), and every receipt of an
            # accepted message was taken (ESME_ROK) in the end.
            refused = sum(1 for _, r in results if r.command_status == Status.ESME_RTHROTTLED)
            self.assertEqual(self.h.smsc.message_count, len(results) - refused)
            self.assertGreaterEqual(self.h.smsc.deliver_resp_statuses[ROK], len(accepted))
        return run(go())


class ReceiptFirstTests(ProcessTestCase):
    """The SMSC sends each receipt before its submit_sm_resp, on the other
    process's bind: the mapping is not stored yet when the receipt arrives."""
    harness_args = dict(smsc=dict(receipt_first=True, receipt_bind="other"),
                        connector="receipt_wait = 5")

    def test_receipt_before_mapping_on_the_other_process(self):
        async def go():
            rx = await self.h.bind(B, "receiver")
            tx_a = await self.h.bind(A, "transmitter")
            tx_b = await self.h.bind(B, "transmitter")
            ra, rb = await defer.gatherResults([submit_all(tx_a, 50), submit_all(tx_b, 50)],
                                               consumeErrors=True)
            resps = ra + rb
            self.assertEqual(statuses(resps), {"ESME_ROK": 100})
            ids = [r.message_id for r in resps]

            def state():
                """100 receipts on B, the queue empty"""
                return "B got %d, XLEN %d, SMSC acks %s" % (
                    len(rx.deliveries), self.h.xlen(), self.smsc_acks())
            await self.until(lambda: len(rx.deliveries) >= 100 and self.h.xlen() == 0, 20,
                             state)
            await rx.enquire_link()
            self.assertEqual(sorted(receipt_id(d) for d in rx.deliveries), sorted(ids))
            await self.acked(100)
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": 100})
            # Each upstream bind (one per process) took the receipts of the other's submits.
            per_bind = sorted(s.resp_statuses[ROK] for s in self.h.smsc.sessions)
            self.assertEqual(per_bind, [50, 50])
            unknown = [line for line in self.h.logs().splitlines() if "unknown id" in line]
            self.assertEqual(unknown, [])
        return run(go())


class MaxBindsTests(ProcessTestCase):
    harness_args = dict(users={"esme1": "max_binds = 2", "esme2": ""})

    async def try_bind(self, i):
        client = await self.h.connect(i)
        resp = await client.bind("transceiver", "esme1", PASSWORDS["esme1"])
        return client, resp.command_status

    def test_max_binds_across_processes(self):
        async def go():
            on_a = await self.h.bind(A, "transceiver")
            on_b = await self.h.bind(B, "transceiver")
            third = {}
            for i in (A, B):
                client, status = await self.try_bind(i)
                third[i] = status_name(status)
                if status != ROK:
                    await client.wait_closed()
            self.assertEqual(third, {A: "ESME_RBINDFAIL", B: "ESME_RBINDFAIL"},
                             "a third bind of esme1 (max_binds = 2), on A and on B")
            resp = await on_a.unbind()
            self.assertEqual(resp.command_status, ROK)
            await on_a.wait_closed()
            # The slot A freed can be taken on B (bounded retry: the release may
            # reach the shared state just after the unbind_resp).
            deadline = time.monotonic() + 5
            while True:
                again, status = await self.try_bind(B)
                if status == ROK:
                    break
                await again.wait_closed()
                self.assertLess(time.monotonic(), deadline,
                                "no bind within 5 s of an unbind: %s" % status_name(status))
                await task.deferLater(reactor, 0.05, lambda: None)
            # Both sessions work: 5 submits each, 10 receipts between them.
            resps = await defer.gatherResults([submit_all(on_b, 5), submit_all(again, 5)])
            ids = sorted(r.message_id for rs in resps for r in rs)
            self.assertEqual(statuses(r for rs in resps for r in rs), {"ESME_ROK": 10})

            def state():
                """10 receipts on the two sessions"""
                return "%d + %d receipts, XLEN %d" % (len(on_b.deliveries),
                                                      len(again.deliveries), self.h.xlen())
            await self.until(lambda: len(on_b.deliveries) + len(again.deliveries) >= 10
                             and self.h.xlen() == 0, 15, state)
            self.assertEqual(sorted(receipt_id(d) for d in on_b.deliveries + again.deliveries),
                             ids)
            self.assertEqual(self.h.smsc.message_count, 10)
        return run(go())


class ShutdownTests(ProcessTestCase):
    harness_args = dict(smpp="shutdown_timeout = %d" % SHUTDOWN_TIMEOUT,
                        smsc=dict(retry_deliveries=True, retry_delay=0.2))
    MARGIN = 5

    def test_sigterm_unbinds_answers_in_flight_and_keeps_receipts(self):
        async def go():
            tx = await self.h.bind(A, "transmitter")
            smsc = self.h.smsc
            smsc.hold_responses = True
            answers = []    # a resp, or the reason there is none

            ds = [tx.submit(**MESSAGE).addCallbacks(answers.append, lambda f: answers.append(
                f.getErrorMessage())) for _ in range(10)]

            def held():
                """10 submits held at the SMSC"""
                return "%d held" % len(smsc.held)
            await self.until(lambda: len(smsc.held) == 10, 10, held)
            terminated = defer.Deferred.fromCoroutine(
                self.h.terminate(A, timeout=SHUTDOWN_TIMEOUT + self.MARGIN + 10))
            await self.h.worker(A).wait_line("Received SIGTERM", 1, 10)
            smsc.hold_responses = False     # the upstream answers while A shuts down
            code, seconds, log = await terminated
            await defer.gatherResults(ds)
            if tx.connected:
                await tx.wait_closed()
            resps = [a for a in answers if not isinstance(a, str)]
            # Everything is checked before failing, so one run tells all that is wrong.
            problems = []
            if not tx.unbound_by_peer:
                problems.append("the ESME got no unbind from the router (its connection "
                                "ended: %s)" % (tx.lost_reason and
                                                tx.lost_reason.getErrorMessage()))
            if len(resps) != 10:
                problems.append("%d of 10 submits got a response; the others: %s"
                                % (len(resps), sorted(set(a for a in answers
                                                          if isinstance(a, str)))))
            if seconds > SHUTDOWN_TIMEOUT + self.MARGIN:
                problems.append("exited %.1f s after SIGTERM (shutdown_timeout %d)"
                                % (seconds, SHUTDOWN_TIMEOUT))
            if code != 0:
                problems.append("exit code %s (signal %s) %.1f s after SIGTERM" % (
                    code, self.h.worker(A).exit_signal, seconds))
            accepted = [r.message_id for r in resps if r.command_status == ROK]

            def report():
                return "\n".join(problems + ["worker A's log:", self.h.worker(A).tail()])
            if not accepted:
                problems.append("no submit was accepted (%s), so no receipt to keep"
                                % statuses(resps))
                self.fail(report())

            def queued():
                """the receipts of the accepted submits queued in Redis"""
                return "XLEN %d for %d accepted; SMSC %s; %s" % (
                    self.h.xlen(), len(accepted), smsc.stats(), problems)
            await self.until(lambda: self.h.xlen() == len(accepted), 15, queued)
            self.assertGreater(self.h.xlen(), 0)
            receiver = AckingReceiver()
            rx = await self.h.bind(B, "receiver", deliver_resp_status=receiver)

            def delivered():
                """the kept receipts delivered on B"""
                return "%d of %d, XLEN %d; %s" % (
                    len(set(receiver.received) & set(accepted)), len(accepted),
                    self.h.xlen(), problems)
            await self.until(lambda: set(accepted) <= set(receiver.received)
                             and self.h.xlen() == 0, 15, delivered)
            await rx.enquire_link()
            self.assertEqual(set(receiver.received), set(accepted))
            self.assertEqual(smsc.message_count, 10)
            self.assertEqual(problems, [], report())
        return run(go())


class RedisOutageReceiptTests(ProcessTestCase):
    """Receipts arrive while Redis is down, from an SMSC that never sends a refused
    receipt again: the router keeps them on local disk, acknowledges them, and
    delivers each once Redis is back."""
    workers = 1
    harness_args = dict(smsc=dict(receipt_delay=1.5))   # retry_deliveries off: no resend
    timeout = 90

    def test_receipts_during_an_outage_are_delivered_once_redis_is_back(self):
        async def go():
            trx = await self.h.bind(A, "transceiver", deliver_resp_status=AckingReceiver())
            receiver = trx.deliver_resp_status
            resps = await submit_all(trx, 100)
            self.assertEqual(statuses(resps), {"ESME_ROK": 100})
            self.redis.stop()

            def acked():
                """the SMSC's 100 receipts acknowledged while Redis is down"""
                return "SMSC acks %s, ESME got %d" % (self.smsc_acks(), len(receiver.received))
            await self.until(lambda: sum(self.h.smsc.deliver_resp_statuses.values()) >= 100,
                             20, acked)
            await self.acked(100)
            self.assertEqual(self.smsc_acks(), {"ESME_ROK": 100})   # none refused
            self.assertEqual(self.h.smsc.deliver_sm_sent, 100)      # none sent twice
            self.redis.start()

            def delivered():
                """every receipt on the ESME once Redis is back"""
                return "ESME got %d of 100; XLEN %d" % (len(receiver.received), self.h.xlen())
            ids = {r.message_id for r in resps}
            await self.until(lambda: set(receiver.received) == ids and self.h.xlen() == 0,
                             30, delivered)
            await trx.enquire_link()
            self.assertEqual(set(receiver.received.values()), {1})   # each exactly once
            self.assertEqual(receiver.after_ack, [])
            self.assertIn("from the spool are in Redis", self.h.log(A))
        return run(go())


class BindScopeTests(ProcessTestCase):
    """max_receivers holds across processes like max_binds; bind_scope = "process"
    makes both per process (seed 002: "enforced on a per-server basis")."""
    harness_args = dict(users={"esme1": "max_binds = 3\nmax_receivers = 1",
                               "esme2": 'max_binds = 1\nbind_scope = "process"'})

    async def try_bind(self, i, mode, user):
        client = await self.h.connect(i)
        resp = await client.bind(mode, user, PASSWORDS[user])
        if resp.command_status != ROK:
            await client.wait_closed()
        return status_name(resp.command_status)

    def test_one_receiver_across_processes(self):
        async def go():
            self.assertEqual(await self.try_bind(A, "receiver", "esme1"), "ESME_ROK")
            self.assertEqual(await self.try_bind(B, "transceiver", "esme1"), "ESME_RBINDFAIL")
            self.assertEqual(await self.try_bind(B, "receiver", "esme1"), "ESME_RBINDFAIL")
            self.assertEqual(await self.try_bind(B, "transmitter", "esme1"), "ESME_ROK")
        return run(go())

    def test_limits_per_process(self):
        async def go():
            self.assertEqual(await self.try_bind(A, "transceiver", "esme2"), "ESME_ROK")
            self.assertEqual(await self.try_bind(A, "transceiver", "esme2"), "ESME_RBINDFAIL")
            self.assertEqual(await self.try_bind(B, "transceiver", "esme2"), "ESME_ROK")
        return run(go())
