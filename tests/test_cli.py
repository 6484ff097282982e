import io
import os
import signal
import sys

from twisted.trial.unittest import SynchronousTestCase

from smpprouter import cli, service
from smpprouter.config import ConfigError
from smpprouter.passwords import hash_service_key, verify_password

from .test_config import MINIMAL, SHIPPED


class CLITestCase(SynchronousTestCase):
    def setUp(self):
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)

    def write_config(self, text):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "smpprouter.toml")
        with open(path, "w") as f:
            f.write(text)
        return path


class PasswdTests(CLITestCase):
    def test_stdin(self):
        self.patch(sys, "stdin", io.StringIO("pw1\nignored\n"))
        self.assertEqual(cli.main(["passwd", "--stdin"]), 0)
        stored = self.stdout.getvalue()
        self.assertTrue(stored.endswith("\n"))
        self.assertTrue(verify_password("pw1", stored.strip()))
        self.assertFalse(verify_password("pw1\n", stored.strip()))

    def test_argument(self):
        self.assertEqual(cli.main(["passwd", "pw2"]), 0)
        self.assertTrue(verify_password("pw2", self.stdout.getvalue().strip()))

    def test_prompt_asks_twice(self):
        answers = iter(["pw3", "pw3"])
        self.patch(cli.getpass, "getpass", lambda prompt: next(answers))
        self.assertEqual(cli.main(["passwd"]), 0)
        self.assertTrue(verify_password("pw3", self.stdout.getvalue().strip()))

    def test_prompt_mismatch(self):
        answers = iter(["pw3", "pw4"])
        self.patch(cli.getpass, "getpass", lambda prompt: next(answers))
        self.assertEqual(cli.main(["passwd"]), 1)
        self.assertEqual(self.stdout.getvalue(), "")
        self.assertIn("differ", self.stderr.getvalue())

    def test_empty(self):
        self.patch(sys, "stdin", io.StringIO("\n"))
        self.assertEqual(cli.main(["passwd", "--stdin"]), 1)
        self.assertEqual(self.stdout.getvalue(), "")

    def test_service_key_given(self):
        self.assertEqual(cli.main(["passwd", "--key", "key-esme1"]), 0)
        self.assertEqual(self.stdout.getvalue(), hash_service_key("key-esme1") + "\n")

    def test_service_key_made(self):
        self.assertEqual(cli.main(["passwd", "--key"]), 0)
        shown, stored = self.stdout.getvalue().splitlines()
        key = shown.rsplit(" ", 1)[1]
        self.assertGreaterEqual(len(key), 40)
        self.assertEqual(stored, hash_service_key(key))

    def test_long_password_warns(self):
        self.assertEqual(cli.main(["passwd", "123456789"]), 0)
        self.assertIn("at most 8 characters", self.stderr.getvalue())
        self.assertTrue(verify_password("123456789", self.stdout.getvalue().strip()))


class CheckTests(CLITestCase):
    def test_shipped_config_passes(self):
        self.assertEqual(cli.main(["check", "--config", SHIPPED]), 0)
        self.assertEqual(self.stdout.getvalue(), "OK\n")

    def test_good_config(self):
        self.patch(service, "load_routes", lambda config: None)
        self.assertEqual(cli.main(["check", "--config", self.write_config(MINIMAL)]), 0)
        self.assertEqual(self.stdout.getvalue(), "OK\n")

    def test_bad_config(self):
        path = self.write_config(MINIMAL + "max_bind = 3\n")
        self.assertEqual(cli.main(["check", "--config", path]), 1)
        self.assertEqual(self.stdout.getvalue(), "")
        self.assertEqual(self.stderr.getvalue(),
                         "%s:11: users.esme1.max_bind: unknown key 'max_bind'; "
                         "did you mean 'max_binds'?\n" % path)

    def test_missing_config(self):
        self.assertEqual(cli.main(["check", "--config", "/nonexistent.toml"]), 1)
        self.assertIn("/nonexistent.toml: cannot read", self.stderr.getvalue())

    def test_routes_error(self):
        def broken(config):
            raise ConfigError(config.routes, 3, "mt[0].connectors", "unknown connector 'x'")
        self.patch(service, "load_routes", broken)
        self.assertEqual(cli.main(["check", "--config", self.write_config(MINIMAL)]), 1)
        self.assertIn("routes.toml:3: mt[0].connectors: unknown connector", self.stderr.getvalue())

    def test_missing_routes_file_fails_the_check(self):
        path = self.write_config(MINIMAL)
        self.assertEqual(cli.main(["check", "--config", path]), 1)
        self.assertIn(os.path.join(os.path.dirname(path), "routes.toml"),
                      self.stderr.getvalue())

    def test_a_broken_templates_file_fails_the_check(self):
        self.patch(service, "load_routes", lambda config: None)
        path = self.write_config('[http]\ntemplates = "templates.toml"\n' + MINIMAL)
        templates = os.path.join(os.path.dirname(path), "templates.toml")
        with open(templates, "w") as f:
            f.write('[templates.a]\ntext = "x"\ntxt = "y"\n')
        self.assertEqual(cli.main(["check", "--config", path]), 1)
        self.assertEqual(self.stderr.getvalue(), "%s:3: templates.a.txt: unknown key 'txt'; "
                         "did you mean 'text'?\n" % templates)

    def test_a_broken_content_file_fails_the_check(self):
        self.patch(service, "load_routes", lambda config: None)
        path = self.write_config('[router]\ncontent = "content.toml"\n' + MINIMAL)
        content = os.path.join(os.path.dirname(path), "content.toml")
        with open(content, "w") as f:
            f.write('[rules.spam]\nwords = ["free money"]\nusers = ["nobody"]\n')
        self.assertEqual(cli.main(["check", "--config", path]), 1)
        self.assertIn("%s:3: rules.spam.users" % content, self.stderr.getvalue())


class ReloadTests(CLITestCase):
    def setUp(self):
        super().setUp()
        self.patch(service, "load_routes", lambda config: None)
        self.killed = []
        self.patch(os, "kill", lambda pid, sig: self.killed.append((pid, sig)))
        self.path = self.write_config('[router]\npid_file = "router.pid"\n' + MINIMAL)
        self.pid_file = os.path.join(os.path.dirname(self.path), "router.pid")

    def reload(self):
        return cli.main(["reload", "--config", self.path])

    def test_sends_sighup(self):
        with open(self.pid_file, "w") as f:
            f.write("4242\n")
        self.assertEqual(self.reload(), 0)
        self.assertEqual(self.killed, [(4242, signal.SIGHUP)])
        self.assertIn("4242", self.stdout.getvalue())

    def test_missing_pid_file(self):
        self.assertEqual(self.reload(), 1)
        self.assertEqual(self.killed, [])
        self.assertIn("no pid file %s" % self.pid_file, self.stderr.getvalue())

    def test_garbage_pid_file(self):
        with open(self.pid_file, "w") as f:
            f.write("-1\n")
        self.assertEqual(self.reload(), 1)
        self.assertEqual(self.killed, [])
        self.assertIn("does not hold a process id", self.stderr.getvalue())

    def test_no_such_process(self):
        def gone(pid, sig):
            raise ProcessLookupError(pid)
        self.patch(os, "kill", gone)
        with open(self.pid_file, "w") as f:
            f.write("4242")
        self.assertEqual(self.reload(), 1)
        self.assertIn("no process 4242 (stale pid file", self.stderr.getvalue())

    def test_bad_config_is_not_reloaded(self):
        with open(self.pid_file, "w") as f:
            f.write("4242")
        with open(self.path, "a") as f:
            f.write("max_binds = 0\n")
        self.assertEqual(self.reload(), 1)
        self.assertEqual(self.killed, [])
        self.assertIn("users.esme1.max_binds: must be at least 1", self.stderr.getvalue())
