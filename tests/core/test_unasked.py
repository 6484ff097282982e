"""core.unasked: which receipts with no mapping were never asked for."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core import unasked
from smpprouter.core.unasked import Unasked


class UnaskedTests(SynchronousTestCase):
    def test_nothing_is_remembered_until_a_receipt_missed_its_mapping(self):
        u = Unasked()
        self.assertFalse(u.sent("smsc", "1"))
        self.assertEqual(u.armed, {})          # the MT path checks only this
        self.assertFalse(u.claims("smsc", "1"))
        u.arm("smsc")
        self.assertFalse(u.sent("smsc", "2"))  # remembered, no marker yet
        self.assertFalse(u.sent("other", "3"))
        self.assertTrue(u.claims("smsc", "2"))
        self.assertFalse(u.claims("smsc", "2"))   # once
        self.assertFalse(u.claims("other", "3"))  # other connectors stay unarmed

    def test_a_hit_proves_the_upstream_and_turns_markers_on(self):
        u = Unasked()
        u.arm("smsc")
        u.sent("smsc", "1")
        self.assertFalse(u.claims("smsc", "9"))   # a race, not proof
        self.assertFalse(u.sent("smsc", "2"))
        u.claims("smsc", "1")
        self.assertTrue(u.sent("smsc", "3"))

    def test_memory_is_bounded_oldest_first(self):
        u = Unasked()
        u.arm("smsc")
        for i in range(unasked.LIMIT + 10):
            u.sent("smsc", str(i))
        self.assertEqual(len(u.armed["smsc"]), unasked.LIMIT)
        self.assertFalse(u.claims("smsc", "9"))
        self.assertTrue(u.claims("smsc", "10"))
