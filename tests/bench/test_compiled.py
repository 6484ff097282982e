"""bench.compiled's own parts, without Cython: which modules it compiles, how it
tells a compiled import from an interpreted one, and what it copies."""

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import tempfile

from twisted.trial import unittest

from bench import compiled


class ModulesTest(unittest.TestCase):

    def test_every_module_is_a_module_of_the_tree(self):
        for path in compiled.MODULES:
            self.assertTrue(os.path.isfile(os.path.join(compiled.ROOT, path)), path)
            spec = importlib.util.find_spec(compiled.module_name(path))
            # its .py, or the extension module beside it when the tests run compiled
            origin, source = (os.path.realpath(p) for p in (
                spec.origin, os.path.join(compiled.ROOT, path)))
            self.assertEqual(os.path.dirname(origin), os.path.dirname(source))
            self.assertEqual(os.path.basename(origin).split(".")[0],
                             os.path.basename(source)[:-len(".py")])

    def test_no_compiled_module_uses_inline_callbacks(self):
        # Compiled, such a function returns a Cython generator, which Twisted's
        # inlineCallbacks refuses with a TypeError: the compiled form would break.
        for path in compiled.MODULES:
            with open(os.path.join(compiled.ROOT, path)) as f:
                self.assertNotIn("inlineCallbacks", f.read(), path)

    def test_module_name(self):
        self.assertEqual(compiled.module_name("smpprouter/smpp/codec.py"), "smpprouter.smpp.codec")


class InterpretedTest(unittest.TestCase):

    def test_only_extension_modules_count_as_compiled(self):
        so = "/t/smpprouter/smpp/codec" + importlib.machinery.EXTENSION_SUFFIXES[0]
        where = {"smpprouter.smpp.codec": so, "smpprouter.smpp.tlv": "/t/smpprouter/smpp/tlv.py",
                 "smpprouter.smpp.pdu": "/t/smpprouter/smpp/__pycache__/pdu.cpython-311.pyc",
                 "smpprouter.core.mt": None}
        self.assertEqual(compiled.interpreted(where),
                         ["smpprouter.core.mt", "smpprouter.smpp.pdu", "smpprouter.smpp.tlv"])


class CopyTest(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root, True)

        def git(*args):
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t"] + list(args),
                           cwd=self.root, check=True, capture_output=True)
        git("init", "-q")
        for rel, text in (("a.py", "old"), ("pkg/b.py", "b"), ("gone.py", "g")):
            os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)
            with open(os.path.join(self.root, rel), "w") as f:
                f.write(text)
        git("add", ".")
        git("commit", "-q", "-m", "t")

    def test_tracked_files_as_on_disk_and_nothing_else(self):
        with open(os.path.join(self.root, "a.py"), "w") as f:
            f.write("new")
        os.remove(os.path.join(self.root, "gone.py"))
        with open(os.path.join(self.root, "untracked.so"), "w") as f:
            f.write("x")
        dest = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, dest, True)
        compiled.copy_tracked(self.root, dest)
        found = sorted(os.path.relpath(os.path.join(d, n), dest)
                       for d, _, names in os.walk(dest) for n in names)
        self.assertEqual(found, ["a.py", os.path.join("pkg", "b.py")])
        with open(os.path.join(dest, "a.py")) as f:
            self.assertEqual(f.read(), "new")
