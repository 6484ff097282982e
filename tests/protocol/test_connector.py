"""The connector's choice of bind and its queue, on a fake clock and fake binds."""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Submission
from smpprouter.then import Then
from smpprouter.protocol.smsc import Connector, ConnectorBusy, ConnectorUnavailable, UpstreamNack
from smpprouter.smpp.status import Status
from smpprouter.smpp import pdu as P
from smpprouter.smpp.session import Mode
from smpprouter.throttle import TokenBucket


def sub(i):
    return Submission("u", "src", str(i), b"hi")


def dests(bind):
    return [int(p.destination_addr) for p, _ in bind.sent]


class FakeBind:
    def __init__(self, clock, window=2, rate=0):
        self.mode = Mode.TRX
        self.window = window
        self.sent = []
        self.bucket = TokenBucket(rate, clock.seconds())

    def can_send(self):
        return len(self.sent) < self.window

    def send_request(self, pdu, context=None):
        d = defer.Deferred() if context is None else context
        self.sent.append((pdu, d))
        return d

    def answer(self, index=0, result=None):
        pdu, d = self.sent.pop(index)
        d.callback(result or P.SubmitSmResp(0, pdu.sequence_number, "up1"))


def config(**kw):
    base = dict(name="up", host="127.0.0.1", port=1, window=2, binds=1, bind="transceiver",
                interface_version=0x34,
                throughput=0, enquire_link_interval=0, response_timeout=30,
                reconnect_min=1.0, reconnect_max=2.0, hold_unbound=0)
    base.update(kw)
    return SimpleNamespace(**base)


class ConnectorTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.connector = Connector(config(), gateway=None, reactor=self.clock,
                                   endpoint=object())

    def test_no_bind_fails_at_once(self):
        self.failureResultOf(self.connector.submit(sub(0)), ConnectorUnavailable)

    def test_queued_message_goes_out_as_soon_as_a_slot_frees(self):
        bind = FakeBind(self.clock)
        self.connector.bind_up(bind)
        results = [self.connector.submit(sub(i)) for i in range(4)]
        self.assertEqual(dests(bind), [0, 1])
        bind.answer()
        # No clock advance: the freed slot alone sends the next message.
        self.assertEqual(dests(bind), [1, 2])
        self.assertEqual(self.successResultOf(results[0]), (0, "up1"))
        self.assertNoResult(results[3])

    def test_round_robin_across_binds(self):
        a, b = FakeBind(self.clock), FakeBind(self.clock)
        self.connector.bind_up(a)
        self.connector.bind_up(b)
        for i in range(4):
            self.connector.submit(sub(i))
        self.assertEqual((dests(a), dests(b)), ([0, 2], [1, 3]))

    def test_rate_limit_delays_without_losing(self):
        bind = FakeBind(self.clock, window=100, rate=100)   # burst 5
        self.connector.bind_up(bind)
        results = [self.connector.submit(sub(i)) for i in range(8)]
        self.assertEqual(len(bind.sent), 5)
        self.clock.advance(0.03)
        self.assertEqual(len(bind.sent), 8)
        self.assertEqual([r.called for r in results], [False] * 8)

    def test_losing_the_last_bind_fails_the_queue(self):
        bind = FakeBind(self.clock, window=1)
        self.connector.bind_up(bind)
        self.connector.submit(sub(0))
        queued = self.connector.submit(sub(1))
        self.connector.bind_down(bind)
        self.failureResultOf(queued, ConnectorUnavailable)

    def test_queue_deadline(self):
        bind = FakeBind(self.clock, window=1)
        self.connector.bind_up(bind)
        self.connector.submit(sub(0))
        queued = self.connector.submit(sub(1))
        self.clock.advance(31)
        bind.answer()
        self.failureResultOf(queued, ConnectorBusy)

    def test_when_up(self):
        d = self.connector.when_up()
        self.assertNoResult(d)
        self.connector.bind_up(FakeBind(self.clock))
        self.assertIs(self.successResultOf(d), self.connector)


class PlainReplyTests(SynchronousTestCase):
    """Connector.send with a Then: the core's hot path, without a Deferred."""

    def setUp(self):
        self.clock = task.Clock()
        self.connector = Connector(config(), gateway=None, reactor=self.clock,
                                   endpoint=object())
        self.heard = []

    def reply(self, done=None):
        return Then(done or (lambda r, tag: self.heard.append(("done", tag, r))),
                     lambda f, tag: self.heard.append(("failed", tag, f.type)),
                     lambda f, tag: self.heard.append(("broken", tag, f.type)), ("m",))

    def test_the_answer_and_the_upstream_nack(self):
        bind = FakeBind(self.clock)
        self.connector.bind_up(bind)
        self.connector.send(sub(0), self.reply())
        self.connector.send(sub(1), self.reply())
        bind.answer()
        bind.answer(result=P.GenericNack(Status.ESME_RSYSERR, 2))
        self.assertEqual(self.heard, [("done", "m", (0, "up1")),
                                      ("failed", "m", UpstreamNack)])

    def test_failures_before_sending_are_heard_at_once(self):
        self.connector.send(sub(0), self.reply())
        self.assertEqual(self.heard, [("failed", "m", ConnectorUnavailable)])

    def test_a_queued_message_hears_its_deadline(self):
        bind = FakeBind(self.clock, window=1)
        self.connector.bind_up(bind)
        self.connector.send(sub(0), self.reply())
        self.connector.send(sub(1), self.reply())
        self.clock.advance(31)
        self.assertEqual(self.heard, [("failed", "m", ConnectorBusy)])

    def test_what_the_handler_raises_goes_to_broken_not_to_the_bind(self):
        bind = FakeBind(self.clock)
        self.connector.bind_up(bind)
        self.connector.send(sub(0), self.reply(done=lambda r, tag: 1 / 0))
        bind.answer()   # would raise into the protocol's dataReceived otherwise
        self.assertEqual(self.heard, [("broken", "m", ZeroDivisionError)])

    def test_an_exception_errback_arrives_as_a_failure(self):
        got = []
        Then(None, lambda f: got.append(f), None).errback(ValueError("x"))
        self.assertIsInstance(got[0], Failure)
        self.assertIs(got[0].type, ValueError)
