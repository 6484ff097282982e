"""The session's one-call fast paths (start_request, response_arrived,
request_arrived) against the separate calls they stand for, on random sessions
and random PDUs: same answers, same errors, same state after."""

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp.commands import CommandId as C
from smpprouter.smpp.session import Role, Session, Timers

from .test_session import session_in, OPEN, TX, RX, TRX, UNBINDING, CLOSED

_COMMANDS = sorted(int(c) for c in C) + [0x00000099, 0x80000099]
command = st.sampled_from(_COMMANDS)
sequence = st.integers(1, 6)
operation = st.one_of(
    st.tuples(st.just("send"), command),
    st.tuples(st.just("response"), command, sequence),
    st.tuples(st.just("request"), command, sequence),
    st.tuples(st.just("answer"), sequence),
)


def _outcome(call, *args):
    try:
        return ("ok", call(*args))
    except Exception as e:   # the error itself is what is compared
        return (type(e).__name__, getattr(e, "status", None), str(e))


def _state(s):
    return (s.state, s.in_window, s.peer_outstanding, dict(s._outstanding),
            list(s._outstanding), dict(s._peer_open), s._last_sequence, s._our_bind_seq,
            s._peer_bind_seq, s._may_receive, s._may_send)


def _slow_send(s, cid, now, context):
    s.check_send(cid)
    seq = s.next_sequence()
    s.request_sent(cid, seq, now, context)
    return seq


def _slow_response(s, cid, seq):
    s.check_receive(cid, seq)
    return s.response_received(cid, seq)


def _slow_request(s, cid, seq):
    s.check_receive(cid, seq)
    s.request_received(seq, cid)


class FastPathTests(SynchronousTestCase):
    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from((Role.SMSC, Role.ESME)),
           st.sampled_from((OPEN, TX, RX, TRX, UNBINDING, CLOSED)),
           st.integers(1, 3), st.integers(0, 3), st.lists(operation, max_size=25))
    def test_fast_equals_slow(self, role, state, window, start, ops):
        timers = Timers(session_init=None, enquire_link=None, inactivity=None, response=5.0)
        fast = session_in(role, state, window=window, timers=timers)
        slow = session_in(role, state, window=window, timers=timers)
        for s in (fast, slow):
            s._last_sequence = start
        for i, op in enumerate(ops):
            now = float(i)
            if op[0] == "send":
                got = _outcome(fast.start_request, op[1], now, i)
                want = _outcome(_slow_send, slow, op[1], now, i)
            elif op[0] == "response":
                got = _outcome(fast.response_arrived, op[1], op[2])
                want = _outcome(_slow_response, slow, op[1], op[2])
            elif op[0] == "request":
                got = _outcome(fast.request_arrived, op[1], op[2])
                want = _outcome(_slow_request, slow, op[1], op[2])
            else:
                got = _outcome(fast.response_sent, op[1])
                want = _outcome(slow.response_sent, op[1])
            self.assertEqual(got, want, op)
            self.assertEqual(_state(fast), _state(slow), op)

    def test_a_full_window_throttles_and_the_sequence_moves_on(self):
        s = Session(Role.ESME, 0.0, window=1)
        s.bound("trx")
        self.assertEqual(s.start_request(C.submit_sm, 0.0, "a"), 1)
        with self.assertRaises(Exception) as cm:
            s.start_request(C.submit_sm, 0.0, "b")
        self.assertEqual(cm.exception.status, 0x58)   # ESME_RTHROTTLED
        self.assertEqual(s.response_arrived(C.submit_sm_resp, 1), "a")
        self.assertEqual(s.start_request(C.submit_sm, 0.0, "c"), 3)


def _reference_deadline(s):
    """next_deadline as it was written before its min() and max() were spelt
    out (the pump asks it once per chunk read)."""
    best = float("inf")
    if s._outstanding:
        best = s._outstanding[next(iter(s._outstanding))][1]
    if s.state is CLOSED:
        return None if best == float("inf") else best
    if s._init_deadline is not None and s._init_deadline < best:
        best = s._init_deadline
    timers = s.timers
    if timers.inactivity is not None and s._idle_reported != s._last_rx:
        best = min(best, s._last_rx + timers.inactivity)
    if timers.enquire_link is not None and s.state in (TX, RX, TRX):
        best = min(best, max(s._last_rx, s._enquire_at) + timers.enquire_link)
    return None if best == float("inf") else best


_timer = st.one_of(st.none(), st.sampled_from((0.5, 1.0, 3.0, 30.0)))


class NextDeadlineTests(SynchronousTestCase):
    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from((Role.SMSC, Role.ESME)),
           st.sampled_from((OPEN, TX, RX, TRX, UNBINDING, CLOSED)),
           _timer, _timer, _timer, _timer,
           st.lists(st.tuples(st.sampled_from(("send", "rx", "poll")),
                              st.floats(0, 50, allow_nan=False)), max_size=12))
    def test_same_as_the_reference(self, role, state, init, enquire, idle, response, ops):
        timers = Timers(session_init=init, enquire_link=enquire, inactivity=idle,
                        response=response)
        s = session_in(role, state, timers=timers)
        for kind, now in ops:
            if kind == "send":
                try:
                    s.start_request(C.enquire_link, now)
                except Exception:
                    pass   # refused in this state: nothing sent
            elif kind == "rx":
                s.pdu_received(now)
            else:
                s.poll(now)
            self.assertEqual(s.next_deadline(), _reference_deadline(s), (kind, now))
