"""bench.e2e's path selection and the configs it writes (no router is run)."""

import argparse
import shutil
import subprocess
import sys
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


class OutputTest(unittest.TestCase):
    """Waiting on a child's output: two lines in one write must both be seen."""

    CHILD = ("import sys; sys.stdout.write('first\\nsecond\\npart'); sys.stdout.flush(); "
             "sys.stdin.read(); sys.stdout.write('ial\\nlast\\n')")

    def child(self):
        proc = subprocess.Popen([sys.executable, "-c", self.CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(lambda: proc.stdin.closed or proc.stdin.close())
        return proc

    def test_a_line_that_came_with_the_one_before_is_found(self):
        proc = self.child()
        seen = []
        e2e.wait_for_line(proc, ["first", "second"], 20, seen)   # the child is still up
        self.assertEqual(seen, ["first\n", "second\n"])

    def test_what_was_read_ahead_is_in_the_rest_of_the_output(self):
        proc = self.child()
        e2e.wait_for_line(proc, ["first"], 20, [])
        # communicate() closes the child's stdin: it writes the rest and ends
        self.assertEqual(e2e.rest_of_output(proc, 20), "second\npartial\nlast\n")

    def test_a_child_that_ends_first_is_reported_with_what_it_said(self):
        proc = subprocess.Popen([sys.executable, "-c", "print('bye')"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 30)
        with self.assertRaises(RuntimeError) as caught:
            e2e.wait_for_line(proc, ["never"], 20, [])
        self.assertIn("exit status 0", str(caught.exception))
        self.assertIn("bye", str(caught.exception))
