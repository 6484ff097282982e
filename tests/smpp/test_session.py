"""Tests for the sans-IO session core: time is always passed in, never waited for."""

from hypothesis import given, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule,
    run_state_machine_as_test,
)
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp.commands import CommandId as C, RESPONSE_BIT
from smpprouter.smpp.errors import StateError
from smpprouter.smpp.session import (
    MAX_SEQUENCE, InactivityTimeout, Mode, ResponseTimeout, Role, SendEnquireLink,
    Session, SessionInitTimeout, State, Timers, bind_mode,
)
from smpprouter.smpp.status import Status

SMSC, ESME = Role.SMSC, Role.ESME
OPEN, TX, RX, TRX = State.OPEN, State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX
UNBINDING, CLOSED = State.UNBINDING, State.CLOSED
NO_TIMERS = Timers(session_init=None, enquire_link=None, inactivity=None, response=None)


def session_in(role, state, now=0.0, **kwargs):
    """A session brought to `state` through the public transitions only."""
    s = Session(role, now, **kwargs)
    if state in (TX, RX, TRX):
        s.bound({TX: Mode.TX, RX: Mode.RX, TRX: Mode.TRX}[state])
    elif state is UNBINDING:
        s.bound(Mode.TRX)
        s.unbinding()
    elif state is CLOSED:
        s.closed()
    assert s.state is state
    return s


# What the peer may send an SMSC, state by state, written out from SMPP v3.4
# table 2-1 (plus enquire_link in OPEN and crossing unbinds), independently of
# the module's table. Binds received while bound are tested apart (RALYBND).
_TX_REQ = {C.submit_sm, C.submit_multi, C.data_sm, C.query_sm, C.cancel_sm, C.replace_sm}
_RX_RESP = {C.deliver_sm_resp, C.data_sm_resp}
_LINK = {C.enquire_link, C.enquire_link_resp, C.generic_nack}
_END = {C.unbind, C.unbind_resp}
_BINDS = {C.bind_transmitter, C.bind_receiver, C.bind_transceiver}

SMSC_RECEIVES = {
    OPEN: _BINDS | _LINK,
    TX: _TX_REQ | _LINK | _END,
    RX: _RX_RESP | _LINK | _END,
    TRX: _TX_REQ | _RX_RESP | _LINK | _END,
    UNBINDING: {C.unbind, C.unbind_resp, C.generic_nack},
    CLOSED: set(),
}
SMSC_SENDS = {
    OPEN: {C.bind_transmitter_resp, C.bind_receiver_resp, C.bind_transceiver_resp,
           C.outbind} | _LINK,
    TX: {C.submit_sm_resp, C.submit_multi_resp, C.data_sm_resp, C.query_sm_resp,
         C.cancel_sm_resp, C.replace_sm_resp} | _LINK | _END,
    RX: {C.deliver_sm, C.data_sm, C.alert_notification} | _LINK | _END,
    TRX: {C.submit_sm_resp, C.submit_multi_resp, C.data_sm_resp, C.query_sm_resp,
          C.cancel_sm_resp, C.replace_sm_resp, C.deliver_sm, C.data_sm,
          C.alert_notification} | _LINK | _END,
    UNBINDING: {C.unbind, C.unbind_resp, C.generic_nack},
    CLOSED: set(),
}
# The ESME role is the mirror image: what an SMSC may send, an ESME may receive.
ALLOWED = {
    (SMSC, "receive"): SMSC_RECEIVES, (SMSC, "send"): SMSC_SENDS,
    (ESME, "receive"): SMSC_SENDS, (ESME, "send"): SMSC_RECEIVES,
}


def attempt(session, direction, command_id, seq=77):
    """None if allowed, else the StateError raised."""
    try:
        if direction == "receive":
            session.check_receive(command_id, seq)
        else:
            session.check_send(command_id)
    except StateError as e:
        return e
    return None


class PermissionTableTests(SynchronousTestCase):

    def test_every_command_in_every_state(self):
        """Exhaustive: each (role, direction, state) allows exactly the listed
        commands and refuses every other with ESME_RINVBNDSTS (or RALYBND for
        a bind in a bound state, which has its own test)."""
        for (role, direction), table in ALLOWED.items():
            for state, allowed in table.items():
                s = session_in(role, state)
                for command_id in C:
                    error = attempt(s, direction, command_id)
                    where = (role, direction, state, command_id.name)
                    if command_id in allowed:
                        self.assertIsNone(error, where)
                        continue
                    self.assertIsInstance(error, StateError, where)
                    self.assertEqual(error.command_id, command_id, where)
                    binder = (role is SMSC) == (direction == "receive")
                    if command_id in _BINDS and binder and state is not CLOSED and state is not OPEN:
                        self.assertEqual(error.status, Status.ESME_RALYBND, where)
                    else:
                        self.assertEqual(error.status, Status.ESME_RINVBNDSTS, where)

    def test_refusal_carries_sequence_number(self):
        s = session_in(SMSC, RX)
        e = self.assertRaises(StateError, s.check_receive, C.submit_sm, 4242)
        self.assertEqual((e.status, e.command_id, e.sequence_number),
                         (Status.ESME_RINVBNDSTS, C.submit_sm, 4242))

    def test_samples_by_name(self):
        """A few readable spot checks alongside the exhaustive test."""
        cases = [
            (SMSC, TX, "receive", C.submit_sm, True),
            (SMSC, RX, "receive", C.submit_sm, False),
            (SMSC, RX, "send", C.deliver_sm, True),
            (SMSC, TX, "send", C.deliver_sm, False),
            (SMSC, OPEN, "send", C.bind_transceiver_resp, True),
            (SMSC, TX, "send", C.bind_transceiver_resp, False),
            (ESME, OPEN, "receive", C.outbind, True),
            (ESME, TX, "receive", C.outbind, False),
            (ESME, RX, "receive", C.deliver_sm, True),
            (ESME, TX, "receive", C.deliver_sm, False),
            (ESME, OPEN, "send", C.bind_receiver, True),
            (ESME, TRX, "send", C.submit_sm, True),
            (ESME, RX, "send", C.submit_sm, False),
            (ESME, TX, "send", C.data_sm, True),
            (ESME, RX, "send", C.data_sm, False),
            (ESME, UNBINDING, "send", C.submit_sm, False),
        ]
        for role, state, direction, command_id, ok in cases:
            error = attempt(session_in(role, state), direction, command_id)
            self.assertEqual(error is None, ok, (role, state, direction, command_id.name))

    def test_unknown_command_id(self):
        s = session_in(SMSC, TRX)
        e = self.assertRaises(StateError, s.check_receive, 0x00000999, 3)
        self.assertEqual(e.status, Status.ESME_RINVCMDID)


class AlreadyBoundTests(SynchronousTestCase):

    def test_second_bind_when_bound(self):
        for state in (TX, RX, TRX, UNBINDING):
            s = session_in(SMSC, state)
            for bind in _BINDS:
                e = self.assertRaises(StateError, s.check_receive, bind, 9)
                self.assertEqual((e.status, e.command_id, e.sequence_number),
                                 (Status.ESME_RALYBND, bind, 9), (state, bind))

    def test_second_bind_while_first_unanswered(self):
        s = Session(SMSC, 0.0)
        s.check_receive(C.bind_transmitter, 1)
        s.request_received(1, C.bind_transmitter)     # authenticating, say
        e = self.assertRaises(StateError, s.check_receive, C.bind_receiver, 2)
        self.assertEqual((e.status, e.sequence_number), (Status.ESME_RALYBND, 2))
        e = self.assertRaises(StateError, s.check_receive, C.bind_transmitter, 1)
        self.assertEqual(e.status, Status.ESME_RALYBND)   # even reusing its number
        s.check_receive(C.enquire_link, 3)             # the rest of OPEN is unchanged
        s.check_send(C.bind_transmitter_resp)
        # The first bind is refused (say bad password): binding may be tried again.
        self.assertTrue(s.response_sent(1))
        s.check_receive(C.bind_transceiver, 4)
        self.assertIs(s.state, OPEN)

    def test_bind_in_progress_ends_with_bound(self):
        s = Session(SMSC, 0.0)
        s.check_receive(C.bind_transceiver, 1)
        s.request_received(1, C.bind_transceiver)
        s.bound(bind_mode(C.bind_transceiver))        # before the resp is sent
        s.check_send(C.bind_transceiver_resp, 1)       # the answer still owed
        self.assertRaises(StateError, s.check_send, C.bind_transceiver_resp, 2)
        self.assertTrue(s.response_sent(1))
        e = self.assertRaises(StateError, s.check_receive, C.bind_transceiver, 2)
        self.assertEqual(e.status, Status.ESME_RALYBND)

    def test_our_second_bind(self):
        s = Session(ESME, 0.0)
        s.check_send(C.bind_transceiver)
        s.request_sent(C.bind_transceiver, s.next_sequence(), 0.0)
        e = self.assertRaises(StateError, s.check_send, C.bind_transmitter)
        self.assertEqual(e.status, Status.ESME_RALYBND)
        s.check_send(C.enquire_link)                   # the rest of OPEN is unchanged
        s.check_receive(C.bind_transceiver_resp, 1)
        s.response_received(C.bind_transceiver_resp, 1)
        s.bound(bind_mode(C.bind_transceiver_resp))
        self.assertIs(s.state, TRX)
        e = self.assertRaises(StateError, s.check_send, C.bind_transmitter)
        self.assertEqual(e.status, Status.ESME_RALYBND)

    def test_bind_nacked_may_be_retried(self):
        s = Session(ESME, 0.0)
        s.request_sent(C.bind_transmitter, 1, 0.0)
        s.response_received(C.generic_nack, 1)
        s.check_send(C.bind_transmitter)

    def test_an_smsc_peer_never_binds(self):
        e = self.assertRaises(StateError, session_in(ESME, TRX).check_receive,
                              C.bind_transmitter, 1)
        self.assertEqual(e.status, Status.ESME_RINVBNDSTS)

    def test_bound_twice(self):
        s = session_in(SMSC, TX)
        e = self.assertRaises(StateError, s.bound, Mode.RX)
        self.assertEqual(e.status, Status.ESME_RALYBND)
        self.assertIs(s.state, TX)


class VersionTests(SynchronousTestCase):

    def test_v33_session_forbids_transceiver_and_data_sm(self):
        s = Session(ESME, 0.0, interface_version=0x33)
        e = self.assertRaises(StateError, s.check_send, C.bind_transceiver)
        self.assertEqual(e.status, Status.ESME_RINVCMDID)
        s.check_send(C.bind_transmitter)
        s.bound(Mode.TX)
        e = self.assertRaises(StateError, s.check_send, C.data_sm)
        self.assertEqual(e.status, Status.ESME_RINVCMDID)
        s.check_send(C.submit_sm)

    def test_v33_told_at_bind_time(self):
        s = Session(SMSC, 0.0)
        s.check_receive(C.bind_transceiver, 1)          # the version is not known yet
        s.bound(Mode.TX, interface_version=0x33)
        self.assertEqual(s.interface_version, 0x33)
        e = self.assertRaises(StateError, s.check_receive, C.data_sm, 2)
        self.assertEqual((e.status, e.sequence_number), (Status.ESME_RINVCMDID, 2))
        s.check_receive(C.submit_sm, 3)

    def test_v34_allows_them(self):
        s = Session(SMSC, 0.0)
        s.bound(Mode.TRX, interface_version=0x34)
        s.check_receive(C.data_sm, 1)
        s.check_send(C.data_sm)

    def test_lower_versions_are_v33(self):
        s = Session(SMSC, 0.0)
        s.bound(Mode.TX, interface_version=0x00)
        self.assertRaises(StateError, s.check_receive, C.data_sm, 1)

    def test_v33_transceiver_refused_at_bind(self):
        e = self.assertRaises(StateError, bind_mode, C.bind_transceiver, 0x33)
        self.assertEqual((e.status, e.command_id), (Status.ESME_RINVCMDID, C.bind_transceiver))
        s = Session(SMSC, 0.0)
        self.assertRaises(StateError, s.bound, Mode.TRX, 0x33)
        self.assertIs(s.state, OPEN)

    def test_bind_mode(self):
        self.assertIs(bind_mode(C.bind_transmitter), Mode.TX)
        self.assertIs(bind_mode(C.bind_receiver_resp), Mode.RX)
        self.assertIs(bind_mode(C.bind_transceiver, 0x34), Mode.TRX)
        self.assertIs(bind_mode(C.bind_receiver, 0x33), Mode.RX)
        self.assertRaises(ValueError, bind_mode, C.submit_sm)


class TransitionTests(SynchronousTestCase):

    LEGAL = {
        OPEN: {"tx", "rx", "trx", "closed"},
        TX: {"unbinding", "closed"},
        RX: {"unbinding", "closed"},
        TRX: {"unbinding", "closed"},
        UNBINDING: {"unbinding", "closed"},
        CLOSED: {"closed"},
    }
    RESULT = {"tx": TX, "rx": RX, "trx": TRX, "unbinding": UNBINDING, "closed": CLOSED}

    def test_table(self):
        for state, legal in self.LEGAL.items():
            for move in self.RESULT:
                s = session_in(SMSC, state)
                call = s.unbinding if move == "unbinding" else (
                    s.closed if move == "closed" else lambda: s.bound(move))
                if move in legal:
                    call()
                    self.assertIs(s.state, self.RESULT[move], (state, move))
                else:
                    e = self.assertRaises(StateError, call)
                    self.assertIn(e.status, (Status.ESME_RINVBNDSTS, Status.ESME_RALYBND))
                    self.assertIs(s.state, state, (state, move))

    def test_bound_stops_session_init(self):
        s = Session(SMSC, 0.0, timers=Timers(enquire_link=None, inactivity=None))
        self.assertEqual(s.next_deadline(), 30.0)
        s.bound("trx")
        self.assertIsNone(s.next_deadline())
        self.assertEqual(s.poll(1000.0), [])


class SequenceTests(SynchronousTestCase):

    def test_counts_from_one(self):
        s = Session(ESME, 0.0)
        self.assertEqual([s.next_sequence() for _ in range(3)], [1, 2, 3])

    def test_wraps_to_one(self):
        s = Session(ESME, 0.0)
        s._last_sequence = MAX_SEQUENCE - 1            # white box: 2**31 calls is too many
        self.assertEqual([s.next_sequence() for _ in range(3)], [MAX_SEQUENCE, 1, 2])

    def test_skips_outstanding(self):
        s = Session(ESME, 0.0, window=10)
        s.bound(Mode.TRX)
        s.request_sent(C.submit_sm, 2, 0.0)
        s.request_sent(C.submit_sm, 3, 0.0)
        self.assertEqual([s.next_sequence(), s.next_sequence()], [1, 4])

    def test_skips_outstanding_across_the_wrap(self):
        s = Session(ESME, 0.0, window=10)
        s.bound(Mode.TRX)
        for seq in (MAX_SEQUENCE, 1, 2):
            s.request_sent(C.submit_sm, seq, 0.0)
        s._last_sequence = MAX_SEQUENCE - 1
        self.assertEqual(s.next_sequence(), 3)

    @settings(deadline=None)
    @given(st.sets(st.integers(MAX_SEQUENCE - 20, MAX_SEQUENCE) | st.integers(1, 20), max_size=30),
           st.integers(MAX_SEQUENCE - 25, MAX_SEQUENCE))
    def test_never_an_outstanding_number(self, busy, last):
        s = Session(ESME, 0.0, window=64)
        s.bound(Mode.TRX)
        for seq in busy:
            s.request_sent(C.submit_sm, seq, 0.0)
        s._last_sequence = last
        for _ in range(50):
            seq = s.next_sequence()
            self.assertTrue(1 <= seq <= MAX_SEQUENCE)
            self.assertNotIn(seq, busy)


class WindowTests(SynchronousTestCase):

    def setUp(self):
        self.s = Session(ESME, 0.0, window=2, timers=NO_TIMERS)
        self.s.bound(Mode.TRX)

    def test_full_and_freed(self):
        s = self.s
        self.assertTrue(s.can_send())
        s.request_sent(C.submit_sm, 1, 0.0, "a")
        s.request_sent(C.submit_sm, 2, 0.0, "b")
        self.assertFalse(s.can_send())
        e = self.assertRaises(StateError, s.request_sent, C.submit_sm, 3, 0.0)
        self.assertEqual((e.status, e.sequence_number), (Status.ESME_RTHROTTLED, 3))
        self.assertEqual(s.in_window, 2)
        self.assertEqual(s.response_received(C.submit_sm_resp, 1), "a")
        self.assertTrue(s.can_send())
        s.request_sent(C.submit_sm, 3, 0.0)
        self.assertEqual(s.in_window, 2)

    def test_enquire_link_and_unbind_never_count(self):
        s = self.s
        s.request_sent(C.submit_sm, 1, 0.0)
        s.request_sent(C.submit_sm, 2, 0.0)
        s.request_sent(C.enquire_link, 3, 0.0, "el")
        s.request_sent(C.unbind, 4, 0.0, "ub")
        self.assertEqual((s.in_window, s.outstanding), (2, 4))
        self.assertEqual(s.response_received(C.enquire_link_resp, 3), "el")
        self.assertEqual(s.response_received(C.unbind_resp, 4), "ub")
        self.assertEqual((s.in_window, s.outstanding), (2, 2))

    def test_unanswered_requests_are_not_tracked(self):
        s = Session(SMSC, 0.0, window=1, timers=NO_TIMERS)
        s.bound(Mode.RX)
        s.request_sent(C.alert_notification, 1, 0.0)
        self.assertEqual((s.in_window, s.outstanding), (0, 0))

    def test_misuse(self):
        s = self.s
        s.request_sent(C.submit_sm, 1, 0.0)
        self.assertRaises(ValueError, s.request_sent, C.query_sm, 1, 0.0)
        self.assertRaises(ValueError, s.request_sent, C.submit_sm_resp, 5, 0.0)
        self.assertRaises(ValueError, Session, ESME, 0.0, window=0)


class MatchingTests(SynchronousTestCase):

    def setUp(self):
        self.s = Session(ESME, 0.0, window=5, timers=NO_TIMERS)
        self.s.bound(Mode.TRX)

    def test_generic_nack_matches_any_request(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0, "submit")
        s.request_sent(C.enquire_link, 8, 0.0, "link")
        self.assertEqual(s.response_received(C.generic_nack, 8), "link")
        self.assertEqual(s.response_received(C.generic_nack, 7), "submit")
        self.assertEqual((s.in_window, s.outstanding), (0, 0))

    def test_unexpected_sequence(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0)
        e = self.assertRaises(StateError, s.response_received, C.submit_sm_resp, 8)
        self.assertEqual((e.status, e.command_id, e.sequence_number),
                         (Status.ESME_RINVBNDSTS, C.submit_sm_resp, 8))
        self.assertIn("no outstanding request", e.reason)
        self.assertEqual(s.outstanding, 1)

    def test_wrong_kind_leaves_request_outstanding(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0, "ctx")
        e = self.assertRaises(StateError, s.response_received, C.query_sm_resp, 7)
        self.assertIn("cannot answer submit_sm", e.reason)
        self.assertEqual(s.response_received(C.submit_sm_resp, 7), "ctx")

    def test_wrong_kind_keeps_the_deadline_order(self):
        s = Session(ESME, 0.0, timers=Timers(session_init=None, enquire_link=None,
                                             inactivity=None, response=30.0))
        s.bound(Mode.TRX)
        s.request_sent(C.submit_sm, 1, 0.0, "first")
        s.request_sent(C.submit_sm, 2, 1.0, "second")
        self.assertRaises(StateError, s.response_received, C.deliver_sm_resp, 1)
        self.assertEqual(s.next_deadline(), 30.0)
        self.assertEqual(s.poll(30.0), [ResponseTimeout(C.submit_sm, 1, "first")])

    def test_answered_only_once(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0)
        s.response_received(C.submit_sm_resp, 7)
        self.assertRaises(StateError, s.response_received, C.submit_sm_resp, 7)

    def test_unbinding_accepts_only_outstanding_responses(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0)
        s.request_sent(C.unbind, 8, 0.0)
        s.unbinding()
        s.check_receive(C.submit_sm_resp, 7)
        s.check_receive(C.unbind_resp, 8)
        e = self.assertRaises(StateError, s.check_receive, C.submit_sm_resp, 9)
        self.assertEqual(e.status, Status.ESME_RINVBNDSTS)
        self.assertRaises(StateError, s.check_receive, C.deliver_sm, 10)

    def test_late_answer_after_close_still_counts(self):
        s = self.s
        s.request_sent(C.submit_sm, 7, 0.0, "ctx")
        s.closed()
        s.check_receive(C.submit_sm_resp, 7)
        self.assertEqual(s.response_received(C.submit_sm_resp, 7), "ctx")
        self.assertRaises(StateError, s.check_receive, C.submit_sm_resp, 8)


class PeerRequestTests(SynchronousTestCase):

    def test_counting(self):
        s = session_in(SMSC, TRX)
        s.request_received(1)
        s.request_received(2)
        s.request_received(2)                           # a peer reusing a number
        self.assertEqual(s.peer_outstanding, 3)
        self.assertTrue(s.response_sent(2))
        self.assertTrue(s.response_sent(1))
        self.assertEqual(s.peer_outstanding, 1)
        self.assertTrue(s.response_sent(2))
        self.assertFalse(s.response_sent(2))
        self.assertFalse(s.response_sent(0))
        self.assertEqual(s.peer_outstanding, 0)

    def test_only_answers_are_owed(self):
        s = session_in(SMSC, TX)
        s.request_received(5, C.submit_sm)
        s.unbinding()
        self.assertRaises(StateError, s.check_send, C.submit_sm_resp)      # no number
        self.assertRaises(StateError, s.check_send, C.submit_sm_resp, 6)   # not owed
        self.assertRaises(StateError, s.check_send, C.submit_sm, 5)        # requests never

    def test_unbinding_answers_what_is_owed(self):
        s = session_in(SMSC, TX)
        s.request_received(5, C.submit_sm)
        s.request_received(6, C.unbind)
        s.unbinding()
        s.check_send(C.submit_sm_resp, 5)
        s.check_send(C.unbind_resp, 6)
        self.assertRaises(StateError, s.check_send, C.deliver_sm)

    def test_nothing_once_closed(self):
        s = session_in(SMSC, TX)
        s.request_received(5, C.submit_sm)
        s.closed()
        self.assertRaises(StateError, s.check_send, C.submit_sm_resp, 5)
        self.assertRaises(StateError, s.check_send, C.generic_nack, 5)


class TimerTests(SynchronousTestCase):

    def test_session_init(self):
        s = Session(SMSC, 100.0, timers=Timers(enquire_link=None, inactivity=None))
        self.assertEqual(s.next_deadline(), 130.0)
        self.assertEqual(s.poll(129.999), [])
        self.assertEqual(s.poll(130.0), [SessionInitTimeout()])
        self.assertEqual(s.poll(130.0), [])
        self.assertEqual(s.poll(500.0), [])
        self.assertIsNone(s.next_deadline())

    def test_activity_does_not_extend_session_init(self):
        s = Session(SMSC, 0.0, timers=Timers(enquire_link=None, inactivity=None))
        s.pdu_received(29.0)
        self.assertEqual(s.poll(30.0), [SessionInitTimeout()])

    def test_inactivity(self):
        s = Session(SMSC, 0.0, timers=Timers(session_init=None, enquire_link=None))
        s.bound(Mode.TX)
        s.pdu_received(50.0)
        self.assertEqual(s.next_deadline(), 350.0)
        self.assertEqual(s.poll(349.999), [])
        self.assertEqual(s.poll(350.0), [InactivityTimeout()])
        self.assertEqual(s.poll(351.0), [])
        self.assertIsNone(s.next_deadline())
        s.pdu_received(400.0)                           # re-armed by activity
        self.assertEqual(s.next_deadline(), 700.0)
        self.assertEqual(s.poll(700.0), [InactivityTimeout()])

    def test_enquire_link_receiving_counts_as_activity(self):
        s = Session(SMSC, 0.0, timers=Timers(session_init=None, enquire_link=None))
        s.bound(Mode.TX)
        for t in range(100, 1000, 100):
            s.pdu_received(float(t))                    # say, the peer's enquire_links
            self.assertEqual(s.poll(float(t)), [])
        self.assertEqual(s.next_deadline(), 1200.0)

    def test_enquire_link_once_per_quiet_interval(self):
        s = Session(ESME, 0.0, timers=Timers(session_init=None, inactivity=None, response=None))
        s.bound(Mode.TRX)
        self.assertEqual(s.next_deadline(), 60.0)
        self.assertEqual(s.poll(59.999), [])
        self.assertEqual(s.poll(60.0), [SendEnquireLink()])
        self.assertEqual(s.poll(60.0), [])
        self.assertEqual(s.poll(100.0), [])
        self.assertEqual(s.next_deadline(), 120.0)
        self.assertEqual(s.poll(120.0), [SendEnquireLink()])
        s.pdu_received(130.0)                           # the answer arrives: re-armed
        self.assertEqual(s.next_deadline(), 190.0)
        self.assertEqual(s.poll(189.999), [])
        self.assertEqual(s.poll(190.0), [SendEnquireLink()])

    def test_late_poll_fires_once(self):
        s = Session(ESME, 0.0, timers=Timers(session_init=None, inactivity=None))
        s.bound(Mode.TX)
        self.assertEqual(s.poll(1000.0), [SendEnquireLink()])
        self.assertEqual(s.next_deadline(), 1060.0)

    def test_no_enquire_link_unless_bound(self):
        timers = Timers(session_init=None, inactivity=None)
        for state in (OPEN, UNBINDING, CLOSED):
            s = session_in(ESME, state, timers=timers)
            self.assertEqual(s.poll(1000.0), [], state)
            self.assertIsNone(s.next_deadline(), state)

    def test_inactivity_preempts_enquire_link(self):
        s = Session(ESME, 0.0, timers=Timers(session_init=None, enquire_link=60, inactivity=60))
        s.bound(Mode.TX)
        self.assertEqual(s.poll(60.0), [InactivityTimeout()])

    def test_response_timeouts_in_order(self):
        s = Session(ESME, 0.0, window=10,
                    timers=Timers(session_init=None, enquire_link=None, inactivity=None))
        s.bound(Mode.TRX)
        s.request_sent(C.submit_sm, 1, 0.0, "a")
        s.request_sent(C.enquire_link, 2, 5.0, "b")
        s.request_sent(C.submit_sm, 3, 8.0, "c")
        s.request_sent(C.submit_sm, 4, 10.0, "d")
        s.response_received(C.submit_sm_resp, 3)
        self.assertEqual(s.next_deadline(), 30.0)
        self.assertEqual(s.poll(29.999), [])
        self.assertEqual(s.poll(35.0), [ResponseTimeout(C.submit_sm, 1, "a"),
                                        ResponseTimeout(C.enquire_link, 2, "b")])
        self.assertEqual((s.in_window, s.outstanding), (1, 1))
        self.assertEqual(s.next_deadline(), 40.0)
        self.assertEqual(s.poll(40.0), [ResponseTimeout(C.submit_sm, 4, "d")])
        self.assertEqual((s.in_window, s.outstanding), (0, 0))
        self.assertIsNone(s.next_deadline())
        self.assertRaises(StateError, s.response_received, C.submit_sm_resp, 1)

    def test_response_timeouts_after_close(self):
        s = Session(ESME, 0.0)
        s.bound(Mode.TX)
        s.request_sent(C.submit_sm, 1, 0.0)
        s.closed()
        self.assertEqual(s.next_deadline(), 30.0)
        self.assertEqual(s.poll(30.0), [ResponseTimeout(C.submit_sm, 1, None)])
        self.assertIsNone(s.next_deadline())

    def test_earliest_of_all(self):
        s = Session(ESME, 0.0, timers=Timers(session_init=None, enquire_link=60,
                                             inactivity=90, response=30))
        s.bound(Mode.TX)
        self.assertEqual(s.next_deadline(), 60.0)
        s.request_sent(C.submit_sm, 1, 20.0)
        self.assertEqual(s.next_deadline(), 50.0)
        s.response_received(C.submit_sm_resp, 1)
        s.pdu_received(50.0)
        self.assertEqual(s.next_deadline(), 110.0)
        self.assertEqual(s.poll(110.0), [SendEnquireLink()])
        self.assertEqual(s.next_deadline(), 140.0)
        self.assertEqual(s.poll(140.0), [InactivityTimeout()])

    def test_all_off(self):
        s = Session(ESME, 0.0, timers=NO_TIMERS)
        s.bound(Mode.TX)
        s.request_sent(C.submit_sm, 1, 0.0)
        self.assertIsNone(s.next_deadline())
        self.assertEqual(s.poll(1e12), [])

    def test_timers_validate(self):
        self.assertRaises(ValueError, Timers, response=0)
        self.assertRaises(ValueError, Timers, enquire_link=-1.0)


class LossTests(SynchronousTestCase):

    def test_connection_lost_returns_everything(self):
        s = Session(ESME, 0.0, window=3)
        s.request_sent(C.bind_transceiver, 1, 0.0, "bind")
        s.response_received(C.bind_transceiver_resp, 1)
        s.bound(Mode.TRX)
        s.request_sent(C.submit_sm, 2, 1.0, "a")
        s.request_sent(C.enquire_link, 3, 2.0, "b")
        s.request_sent(C.data_sm, 4, 3.0, "c")
        s.request_received(9, C.deliver_sm)
        self.assertEqual(s.connection_lost(), [(C.submit_sm, 2, "a"),
                                               (C.enquire_link, 3, "b"),
                                               (C.data_sm, 4, "c")])
        self.assertIs(s.state, CLOSED)
        self.assertEqual((s.in_window, s.outstanding, s.peer_outstanding), (0, 0, 0))
        self.assertEqual(s.connection_lost(), [])
        self.assertEqual(s.poll(1000.0), [])
        self.assertIsNone(s.next_deadline())


# -- the property: every request ends exactly once --------------------------

REQUESTS = [C.submit_sm, C.data_sm, C.query_sm, C.enquire_link, C.unbind]
EXEMPT = {C.enquire_link, C.unbind}


class WindowMachine(RuleBasedStateMachine):
    """Random sends, answers (right, nacked, wrong, stray) and polls."""

    @initialize(window=st.integers(1, 5), response=st.sampled_from([None, 1.0, 30.0]))
    def start(self, window, response):
        self.session = Session(ESME, 0.0, window=window, timers=Timers(
            session_init=None, enquire_link=None, inactivity=None, response=response))
        self.session.bound(Mode.TRX)
        self.now = 0.0
        self.sent = {}          # context -> (command_id, seq)
        self.open = {}          # seq -> (command_id, context)
        self.ended = []         # contexts, each time one ends
        self.counter = 0

    def _end(self, context):
        self.ended.append(context)
        seq = self.sent[context][1]
        del self.open[seq]

    @rule(command_id=st.sampled_from(REQUESTS))
    def send(self, command_id):
        s = self.session
        seq = s.next_sequence()
        assert seq not in self.open
        self.counter += 1
        context = self.counter
        if command_id in EXEMPT or s.can_send():
            s.request_sent(command_id, seq, self.now, context)
            self.sent[context] = (command_id, seq)
            self.open[seq] = (command_id, context)
        else:
            try:
                s.request_sent(command_id, seq, self.now, context)
            except StateError as e:
                assert e.status == Status.ESME_RTHROTTLED
            else:
                raise AssertionError("a full window accepted a request")

    @precondition(lambda self: self.open)
    @rule(data=st.data(), nack=st.booleans())
    def answer(self, data, nack):
        seq = data.draw(st.sampled_from(sorted(self.open)))
        command_id, context = self.open[seq]
        answer = C.generic_nack if nack else command_id | RESPONSE_BIT
        self.session.check_receive(answer, seq)
        assert self.session.response_received(answer, seq) == context
        self._end(context)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def answer_wrongly(self, data):
        seq = data.draw(st.sampled_from(sorted(self.open)))
        command_id = self.open[seq][0]
        wrong = C.cancel_sm_resp if command_id != C.cancel_sm else C.submit_sm_resp
        try:
            self.session.response_received(wrong, seq)
        except StateError:
            pass
        else:
            raise AssertionError("a wrong answer was accepted")

    @rule(seq=st.integers(1, 40))
    def stray_answer(self, seq):
        if seq in self.open:
            return
        try:
            self.session.response_received(C.submit_sm_resp, seq)
        except StateError:
            pass
        else:
            raise AssertionError("an answer to nothing was accepted")

    @rule(dt=st.floats(0.0, 20.0, allow_nan=False))
    def wait(self, dt):
        self.now += dt
        deadline = self.session.next_deadline()
        events = self.session.poll(self.now)
        if deadline is None or deadline > self.now:
            assert events == [], (deadline, self.now, events)
        for event in events:
            assert isinstance(event, ResponseTimeout)
            assert self.open[event.sequence_number] == (event.command_id, event.context)
            self._end(event.context)

    @invariant()
    def window_within_bounds(self):
        s = getattr(self, "session", None)
        if s is None:
            return
        assert 0 <= s.in_window <= s.window
        assert s.in_window == sum(1 for c, _ in self.open.values() if c not in EXEMPT)
        assert s.outstanding == len(self.open)

    def teardown(self):
        s = getattr(self, "session", None)
        if s is None:
            return
        for command_id, seq, context in s.connection_lost():
            assert self.open[seq] == (command_id, context)
            self._end(context)
        assert not self.open
        assert sorted(self.ended) == sorted(self.sent), "a request ended twice or never"
        assert s.in_window == 0 and s.outstanding == 0


class WindowPropertyTests(SynchronousTestCase):

    def test_every_request_ends_exactly_once(self):
        run_state_machine_as_test(WindowMachine, settings=settings(
            deadline=None, max_examples=200, stateful_step_count=60))
