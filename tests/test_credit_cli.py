"""`smpprouter credit`: real processes against a real Redis (the configured one,
or the embedded one found under var_dir)."""

import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from tests.redis_server import shared
from tests.test_config import MINIMAL

SMPPROUTER = os.path.join(os.path.dirname(sys.executable), "smpprouter")
PREPAID = '[users.esme1]\nbilling = "prepaid"\nlow_balance = 100\n'


class CreditCommandTests(SynchronousTestCase):

    def setUp(self):
        self.redis = shared()
        self.redis.command("FLUSHALL")
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.config = self.write('[redis]\nurl = "redis://%s:%d/0"\n'
                                 % (self.redis.host, self.redis.port))

    def write(self, head, users=PREPAID):
        path = os.path.join(self.dir, "smpprouter.toml")
        with open(path, "w") as f:
            f.write(head + MINIMAL.replace("[users.esme1]\n", users))
        return path

    def credit(self, *argv):
        done = subprocess.run([SMPPROUTER, "credit", "--config", self.config] + list(argv),
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr

    def test_adds_never_sets_and_ledgers_who_and_why(self):
        self.assertEqual(self.credit("esme1", "+1000", "--reason", "invoice 7")[:2],
                         (0, "esme1: +1000, balance 1000 (minor units)\n"))
        self.assertEqual(self.credit("esme1", "+500")[0], 0)
        self.assertEqual(self.credit("esme1", "-200", "--reason", "typo")[0], 0)
        self.assertEqual(self.redis.command("GET", "bal:{esme1}"), "1300")
        entries = self.redis.command("XRANGE", "ledger:{esme1}", "-", "+")
        fields = [dict(zip(f[::2], f[1::2])) for _, f in entries]
        self.assertEqual([(f["kind"], f["amount"], f["balance"], f["why"]) for f in fields],
                         [("credit", "1000", "1000", "invoice 7"), ("credit", "500", "1500",
                                                                    "top-up"),
                          ("credit", "-200", "1300", "typo")])
        self.assertIn("@", fields[0]["who"])

    def test_shows_the_balance_and_the_ledger(self):
        self.credit("esme1", "+150")
        self.credit("esme1", "-100", "--reason", "fix")
        code, out, _ = self.credit("esme1")
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0], "esme1: balance 50 (minor units), below its low_balance 100")
        self.assertIn("-100", lines[1])
        self.assertIn("fix", lines[1])
        self.assertIn("+150", lines[2])

    def test_refuses_what_would_set_or_is_not_money(self):
        for amount in ("1000", "1.5", "+1e3", "+0", "=5"):
            code, _, err = self.credit("esme1", amount)
            self.assertEqual(code, 1, amount)
            self.assertIn("smpprouter credit:", err)
        self.assertIsNone(self.redis.command("GET", "bal:{esme1}"))

    def test_unknown_and_postpaid_users(self):
        code, _, err = self.credit("esme2", "+1")
        self.assertEqual(code, 1)
        self.assertIn("did you mean 'esme1'", err)
        self.config = self.write('[redis]\nurl = "redis://%s:%d/0"\n'
                                 % (self.redis.host, self.redis.port), "[users.esme1]\n")
        code, _, err = self.credit("esme1", "+1")
        self.assertEqual(code, 1)
        self.assertIn("postpaid", err)
        self.assertEqual(self.credit("esme1")[:2], (0, "esme1: postpaid (metered, no balance)\n"))

    def test_finds_the_embedded_redis_under_var_dir(self):
        var = os.path.join(self.dir, "var")
        os.makedirs(var)
        self.config = self.write('[router]\nvar_dir = "var"\n')
        code, _, err = self.credit("esme1", "+1")
        self.assertEqual(code, 1)
        self.assertIn("no embedded Redis is running", err)
        # what EmbeddedRedis leaves there: its pid and port files
        with open(os.path.join(var, "redis.pid"), "w") as f:
            f.write("%d\n" % self.redis.process.pid)
        with open(os.path.join(var, "redis.port"), "w") as f:
            f.write("%d\n" % self.redis.port)
        self.assertEqual(self.credit("esme1", "+7")[0], 0)
        self.assertEqual(self.redis.command("GET", "bal:{esme1}"), "7")
