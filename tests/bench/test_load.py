"""bench.load's store-and-forward options and figures, against the simulator over loopback."""

from twisted.internet import defer
from twisted.trial import unittest

from bench import load
from bench.smsc import SimulatedSMSC


class LoadOptionsTest(unittest.TestCase):
    timeout = 20

    def setUp(self):
        self.smsc = SimulatedSMSC("router", "secret", accounts={"esme-sf": "pw-sf"})
        self.port = self.smsc.listen(0).getHost().port

    def tearDown(self):
        return self.smsc.close()

    @defer.inlineCallbacks
    def test_user_times_and_separate_rates(self):
        args = load.parse_args([
            "--port", str(self.port), "--user", "esme-sf", "--password", "pw-sf",
            "--sessions", "2", "--window", "5", "--count", "40",
            "--schedule-delivery-time", "000000000010000R",
            "--validity-period", "000000010000000R", "--json"])
        summary = yield defer.ensureDeferred(load.run(args))
        self.assertEqual((summary["ok"], summary["receipts_matched"]), (40, 40))
        self.assertEqual(summary["accepted_per_s"], summary["msg_per_s"])
        self.assertGreater(summary["receipts_per_s"], 0)
        self.assertGreaterEqual(summary["receipt_tail_seconds"], 0)
        self.assertIsNotNone(summary["first_receipt_seconds"])
        self.assertEqual({(p.schedule_delivery_time, p.validity_period)
                          for p in self.smsc.submits},
                         {("000000000010000R", "000000010000000R")})
        self.assertEqual(self.smsc.stats()["duplicate_submits"], 0)
        self.assertIn("accepted", load.format_summary(summary))
