"""Does a compiled build pay? The hot modules compiled by Cython, A/B against pure Python.

    python -m bench.compiled [--baseline COMMIT] [--keep DIR [--build-only]] [bench.ab options]
    e.g. python -m bench.compiled --paths sync --rounds 3

Copies the working tree (its tracked files, as they are on disk) into a
temporary directory, compiles MODULES there with `cythonize -i` (an extension
module beside its .py shadows it on import), checks in a fresh interpreter that
each of them imports compiled, and runs bench.ab with that copy as the tree
side against --baseline (default HEAD: the same code, interpreted). It prints
the CPU time the build took: what a compiled form would add to CI.

Cython is not a dependency (`pip install cython` to run this): measured, the
compiled form does not pay for one (docs/DESIGN.md, "The per-message budget").
The code is compiled unchanged, without type declarations: what pure-Python
mode gives for free. The codec's decoders and encoders are generated with exec
at import and so stay interpreted in any case.
"""

import argparse
import importlib.machinery
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

from bench import ab, e2e

ROOT = e2e.ROOT

# The modules of the synchronous path's profile (py-spy own time), as paths.
# store/redis.py is left out: its inlineCallbacks functions, compiled, return
# Cython generators, which Twisted's inlineCallbacks refuses (it checks for
# types.GeneratorType; twisted/twisted#7955), so RedisStore.start would raise.
MODULES = (
    "smpprouter/smpp/codec.py", "smpprouter/smpp/tlv.py", "smpprouter/smpp/pdu.py",
    "smpprouter/smpp/session.py", "smpprouter/smpp/framer.py", "smpprouter/smpp/receipt.py",
    "smpprouter/smpp/adapt.py",
    "smpprouter/protocol/base.py", "smpprouter/protocol/esme.py", "smpprouter/protocol/smsc.py",
    "smpprouter/core/mt.py", "smpprouter/core/receipts.py", "smpprouter/core/delivery.py",
    "smpprouter/core/codec.py",
    "smpprouter/store/codec.py", "smpprouter/store/protocol.py", "smpprouter/store/batching.py",
    "smpprouter/store/outbound.py",
)

# Checked in the copy by a fresh interpreter: {module name: the file it imported}.
_WHERE = "import importlib, json, sys; print(json.dumps({m: importlib.import_module(m).__file__ " \
         "for m in sys.argv[1:]}))"


def module_name(path):
    """'smpprouter/smpp/codec.py' -> 'smpprouter.smpp.codec'."""
    return path[:-len(".py")].replace("/", ".")


def interpreted(where):
    """The modules of {module: file} that did not import from an extension module."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted(m for m, f in where.items() if not (f or "").endswith(suffixes))


def copy_tracked(root, dest):
    """The tracked files of the git tree at root, as they are on disk, into dest
    (untracked files, build products and .venv stay behind)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = os.path.join(root, rel)
        if not os.path.isfile(src):     # deleted in the working tree
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))


def build(tree, modules=MODULES, jobs=2):
    """cythonize -i the modules in tree; returns the CPU seconds of the build."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, CFLAGS="-O2 -g0")    # no debug info: half the compile time
    subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-3", "-q",
                    "-j", str(jobs)] + list(modules), cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def where_imported(tree, modules=MODULES):
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", _WHERE] + [module_name(m) for m in modules],
                         cwd=tree, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="Other options go to bench.ab (see python -m bench.ab -h).")
    p.add_argument("--baseline", default="HEAD", metavar="COMMIT",
                   help="the interpreted side (default HEAD)")
    p.add_argument("--keep", metavar="DIR", help="build the compiled copy in DIR (new or "
                   "empty) and leave it there, e.g. to profile it")
    p.add_argument("--build-only", action="store_true", help="with --keep: build and check "
                   "the copy, no A/B (run the tests on it: cd DIR && PYTHONPATH=DIR trial ...)")
    p.add_argument("--jobs", type=int, default=2, help="parallel compilations")
    args, rest = p.parse_known_args(argv)
    if args.build_only and not args.keep:
        p.error("--build-only needs --keep DIR")
    try:
        import Cython
    except ImportError:
        p.error("needs Cython: %s -m pip install cython" % sys.executable)
    tree = args.keep or tempfile.mkdtemp(prefix="smpprouter-compiled-")
    try:
        copy_tracked(ROOT, tree)
        cpu = build(tree, jobs=args.jobs)
        left = interpreted(where_imported(tree))
        if left:
            print("bench.compiled: still interpreted: %s" % ", ".join(left), file=sys.stderr)
            return 1
        print("bench.compiled: %d modules compiled by Cython %s in %.0f s of CPU (%s)"
              % (len(MODULES), Cython.__version__, cpu, tree), flush=True)
        if args.build_only:
            return 0
        return ab.main(["--baseline", args.baseline, "--tree", tree, "--tree-label",
                        ab.tree_label() + "+cython"] + rest)
    finally:
        if not args.keep:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
