"""bench.e2e's path selection and the configs it writes (no router is run)."""

import argparse
import shutil
import tempfile
from types import SimpleNamespace

from twisted.trial import unittest

from bench import e2e

ARGS = SimpleNamespace(window=10, binds=1, upstream_window=50)


class PathsTest(unittest.TestCase):

    def test_default_is_all_sync_first(self):
        self.assertEqual(e2e.PATHS, ("sync", "sf", "prepaid"))
        self.assertEqual(e2e._paths("sf,sync"), ("sync", "sf"))
        self.assertEqual(e2e._paths("prepaid,sync"), ("sync", "prepaid"))
        self.assertEqual(e2e._paths("sf"), ("sf",))
        self.assertEqual(e2e._paths("hygiene,sync"), ("sync", "hygiene"))   # asked for only

    def test_unknown_path_refused(self):
        self.assertRaises(argparse.ArgumentTypeError, e2e._paths, "sync,async")
        self.assertRaises(argparse.ArgumentTypeError, e2e._paths, ",")


class ConfigTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="bench-e2e-test-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)

    def read(self, path):
        with open(e2e.write_config(self.directory, 2775, 2776, ARGS, path)) as f:
            return f.read()

    def test_sync_config_has_no_store_and_forward_user(self):
        text = self.read("sync")
        self.assertNotIn("esme-sf", text)
        self.assertNotIn("store_and_forward", text)
        e2e.check_config(e2e.write_config(self.directory, 2775, 2776, ARGS, "sync"))

    def test_prepaid_config_prices_the_route_and_has_a_prepaid_user(self):
        text = self.read("prepaid")
        self.assertIn("price = 35\n", open(self.directory + "/routes.toml").read())
        self.assertIn("[users.esme-pre]\n", text)
        self.assertIn('billing = "prepaid"\n', text)
        e2e.check_config(e2e.write_config(self.directory, 2775, 2776, ARGS, "prepaid"))

    def test_sf_config_is_accepted_or_refused_naming_the_key(self):
        self.assertIn("[users.esme-sf]\n", self.read("sf"))
        self.assertIn("store_and_forward = true\n", self.read("sf"))
        try:
            e2e.check_config(e2e.write_config(self.directory, 2775, 2776, ARGS, "sf"))
        except e2e.ConfigRefused as e:
            self.assertIn("store_and_forward", str(e))
            self.assertIn("unknown key", str(e))
