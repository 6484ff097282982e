"""The MT path's waits (core/mt.py _Attempt) answer once, and never raise into
the loop that calls them (the connector's replies, the store's batch)."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.mt import _Attempt
from smpprouter.smpp.status import Status


class BrokenMT:
    """An MT path whose every step raises (a bug)."""
    def _answered(self, result, attempt):
        raise RuntimeError("a bug in _answered")

    def _mapped(self, attempt):
        raise RuntimeError("a bug in _mapped")


class AttemptTests(SynchronousTestCase):
    def test_a_step_raising_answers_rsyserr(self):
        answers = []
        _Attempt(BrokenMT(), answers.append, None).callback("upstream-id")
        self.assertEqual([o.status for o in answers], [Status.ESME_RSYSERR])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_a_step_and_its_answer_raising_do_not_reach_the_caller(self):
        def answer(outcome):
            raise RuntimeError("a bug in the answer")
        for mapped in (False, True):
            attempt = _Attempt(BrokenMT(), answer, None)
            if mapped:
                attempt.upstream_id = "up-1"   # the mapping's wait
            attempt.callback(None)   # returns: the store's batch goes on
            self.assertEqual(attempt.called, mapped)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 4)
