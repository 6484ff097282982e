"""The local spool: what append confirmed is on disk, in order, across a restart."""

import os
import tempfile

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.store.spool import Spool, SpoolFull


class SpoolTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.path = os.path.join(tempfile.mkdtemp(prefix="spool-"), "spool.bin")

    def spool(self, max_bytes=1000):
        spool = Spool(self.path, max_bytes, self.clock)
        self.addCleanup(spool._file.close)
        return spool

    def test_confirmed_once_written_in_order_and_there_after_a_restart(self):
        spool = self.spool()
        ds = [spool.append(b"r%d" % i) for i in range(3)]
        self.assertNoResult(ds[0])            # not before the turn's write + fsync
        self.clock.advance(0)
        for d in ds:
            self.successResultOf(d)
        again = Spool(self.path, 1000, self.clock)
        self.addCleanup(again._file.close)
        self.assertEqual(again.records(), [b"r0", b"r1", b"r2"])

    def test_bounded(self):
        spool = self.spool(max_bytes=20)
        spool.append(b"x" * 10)
        self.failureResultOf(spool.append(b"y" * 10), SpoolFull)
        self.clock.advance(0)
        self.assertEqual(spool.records(), [b"x" * 10])

    def test_drop_keeps_what_came_after(self):
        spool = self.spool()
        for i in range(3):
            spool.append(b"r%d" % i)
        self.clock.advance(0)
        spool.append(b"late")                 # appended while a replay ran
        spool.drop(2)
        self.assertEqual(spool.records(), [b"r2", b"late"])
        self.assertEqual(spool.size, os.path.getsize(self.path))
        spool.append(b"next")
        self.clock.advance(0)
        self.assertEqual(spool.records(), [b"r2", b"late", b"next"])

    def test_a_record_cut_by_a_crash_is_not_read(self):
        spool = self.spool()
        spool.append(b"whole")
        self.clock.advance(0)
        with open(self.path, "ab") as f:
            f.write(b"\x00\x00\x00\x09part")   # a write the crash interrupted
        again = Spool(self.path, 1000, self.clock)
        self.addCleanup(again._file.close)
        self.assertEqual(again.records(), [b"whole"])
        again.append(b"after")                 # readable after the cut
        self.clock.advance(0)
        self.assertEqual(again.records(), [b"whole", b"after"])
