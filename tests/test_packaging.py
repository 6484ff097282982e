"""The wheel, installed the normal (non-editable) way, is a whole router.

An editable install runs from the source tree, so it cannot show a module or a
plugin the wheel leaves out (smpprouter.smpp once had no __init__.py and was
missing; twisted/plugins/, which must have none, was missing too). These tests
build the wheel from a copy of the source tree, install it into a fresh
virtualenv and run `twistd smpprouter` and `smpprouter check` from it, with the
working directory outside the source tree.

The fresh virtualenv gets the dependencies without downloading them: it has
no pip, and a .pth file puts the test environment's site-packages on its path
after its own, as plain directories (that environment's .pth files, among them
the editable install's pointer at the source tree, are not read).
"""

import atexit
import os
import shutil
import site
import subprocess
import sys
import tempfile
import zipfile

from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "etc", "smpprouter.toml")
TIMEOUT = 120       # seconds for any one command; the whole module takes ~10 s
TWISTD = ("import sys; from twisted.scripts.twistd import run; "
          "sys.argv[0] = 'twistd'; run()")
# Not copied into the build tree: a stale build/ or egg-info could hide a
# packaging defect, and the rest is large or irrelevant.
_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "_trial_temp*",
                                 "var", "__pycache__", ".hypothesis", "*.pcap",
                                 "dropin.cache")


def _run(args, cwd, what):
    """Run args (no PYTHONPATH, cwd outside the source tree); its stdout, or fail."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")}
    env["PYTHONNOUSERSITE"] = "1"
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise AssertionError("%s failed (exit %d): %s\n--- stdout:\n%s\n--- stderr:\n%s"
                             % (what, done.returncode, " ".join(args), done.stdout[-3000:],
                                done.stderr[-3000:]))
    return done.stdout


class _Installed:
    """The wheel built once per test run and installed in a fresh virtualenv."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="smpprouter-packaging-")
        atexit.register(shutil.rmtree, self.top, True)
        self.work = os.path.join(self.top, "cwd")      # where the commands run
        os.mkdir(self.work)
        source = os.path.join(self.top, "source")
        shutil.copytree(ROOT, source, ignore=_IGNORE)
        wheels = os.path.join(self.top, "wheels")
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
              "--no-index", "--wheel-dir", wheels, source], self.work,
             "building the wheel (needs the test extra's `wheel`: make install)")
        [name] = os.listdir(wheels)
        self.wheel = os.path.join(wheels, name)

        self.venv = os.path.join(self.top, "venv")
        _run([sys.executable, "-m", "venv", "--without-pip", self.venv], self.work,
             "creating the virtualenv")
        self.python = os.path.join(self.venv, "bin", "python")
        _run([sys.executable, "-m", "pip", "--python", self.python, "install", "--no-deps",
              "--no-index", "--no-compile", self.wheel], self.work, "installing the wheel")
        self.site = _run([self.python, "-c", "import sysconfig; "
                          "print(sysconfig.get_paths()['purelib'])"], self.work,
                         "asking the virtualenv for its site-packages").strip()
        # Written after the install: pip must not see the editable smpprouter.
        dependencies = [path for path in site.getsitepackages() if path != self.site]
        with open(os.path.join(self.site, "zz_test_dependencies.pth"), "w") as f:
            f.write("".join(path + "\n" for path in dependencies))

    def run(self, args, what):
        return _run(args, self.work, what)


_installed = None


def installed() -> _Installed:
    global _installed
    if _installed is None:
        _installed = _Installed()
    return _installed


class WheelTests(SynchronousTestCase):
    def setUp(self):
        self.i = installed()

    def test_wheel_holds_the_codec_and_the_plugin(self):
        with zipfile.ZipFile(self.i.wheel) as z:
            names = set(z.namelist())
        for name in ("smpprouter/smpp/__init__.py", "smpprouter/smpp/codec.py",
                     "smpprouter/protocol/esme.py", "smpprouter/store/redis.py",
                     "smpprouter/routing/table.py", "twisted/plugins/smpprouter_plugin.py",
                     "smpprouter/http/openapi.json"):
            self.assertIn(name, names)
        # twistd scans twisted/plugins/ as a namespace: an __init__.py of ours
        # would shadow Twisted's own plugins.
        self.assertNotIn("twisted/plugins/__init__.py", names)
        self.assertNotIn("twisted/__init__.py", names)
        self.assertEqual([n for n in names if n.startswith(("tests/", "bench/"))], [])

    def test_modules_come_from_the_wheel(self):
        out = self.i.run([self.i.python, "-c",
                          "import smpprouter, smpprouter.smpp.codec, twisted, "
                          "twisted.plugins.smpprouter_plugin as p; "
                          "print(smpprouter.__file__); print(smpprouter.smpp.codec.__file__); "
                          "print(p.__file__); print(twisted.__file__)"],
                         "importing the installed modules")
        package, codec, plugin, twisted = out.split()
        self.assertEqual(package, os.path.join(self.i.site, "smpprouter", "__init__.py"))
        self.assertEqual(codec, os.path.join(self.i.site, "smpprouter", "smpp", "codec.py"))
        self.assertEqual(plugin, os.path.join(self.i.site, "twisted", "plugins",
                                              "smpprouter_plugin.py"))
        # Twisted itself comes from the dependencies, not from the wheel.
        self.assertFalse(twisted.startswith(self.i.site), twisted)

    def test_the_openapi_document_is_read_from_the_wheel(self):
        out = self.i.run([self.i.python, "-c",
                          "import json, smpprouter.http.rest as r; "
                          "print(json.loads(r.openapi_document())['openapi'])"],
                         "reading the installed OpenAPI document")
        self.assertEqual(out.strip(), "3.1.0")

    def test_twistd_finds_the_plugin(self):
        out = self.i.run([self.i.python, "-c", TWISTD, "--help"], "twistd --help")
        self.assertIn("smpprouter", out)
        self.assertIn("Carrier-grade SMPP router.", out)
        out = self.i.run([self.i.python, "-c", TWISTD, "smpprouter", "--help"],
                         "twistd smpprouter --help")
        self.assertIn("--config=", out)
        self.assertIn("--redis-url=", out)

    def test_console_script_checks_the_shipped_config(self):
        script = os.path.join(self.i.venv, "bin", "smpprouter")
        with open(script) as f:
            self.assertEqual(f.readline().strip(), "#!" + self.i.python)
        out = self.i.run([script, "check", "--config", CONFIG],
                         "smpprouter check --config etc/smpprouter.toml")
        self.assertEqual(out.strip(), "OK")
