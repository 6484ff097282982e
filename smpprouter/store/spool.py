"""A local append-only file of records kept while Redis is away.

Why: a receipt or an MO an upstream sends while Redis is unreachable would
otherwise be answered ESME_RX_T_APPN, and some SMSCs never send a refused one
again. Appended records are written and fsync'ed once per reactor turn
before their callers are told (so an upstream hears ESME_ROK only for what is
on disk); the file survives a crash of the process, and of the machine once
fsync has returned. Records are opaque bytes to the spool: the core decides
what they hold and replays them into Redis when it is back.

Layout: each record is its length (4 octets, big-endian), then its bytes.
The file is bounded (max_bytes): beyond, append fails with SpoolFull and the
caller falls back to refusing.
"""

import os
import struct

from twisted.internet import defer

_LENGTH = struct.Struct(">I")


class SpoolFull(Exception):
    """The spool holds its max_bytes already."""


class Spool:
    def __init__(self, path, max_bytes, clock):
        self.path = path
        self.max_bytes = max_bytes
        self.clock = clock
        if os.path.exists(path):
            # A record a crash cut short was never confirmed: cut it off, so
            # what is appended from now on can be read after it.
            valid = sum(4 + len(r) for r in self._read())
            if valid != os.path.getsize(path):
                os.truncate(path, valid)
        self._file = open(path, "ab")
        self._file.seek(0, os.SEEK_END)
        self.size = self._file.tell()
        self._pending = []      # (framed record, Deferred) of this turn
        self._flush_call = None

    def append(self, record: bytes):
        """Deferred(None) once record is on disk; SpoolFull beyond max_bytes."""
        framed = _LENGTH.pack(len(record)) + record
        if self.size + len(framed) > self.max_bytes:
            return defer.fail(SpoolFull("the spool %s holds %d bytes already"
                                        % (self.path, self.size)))
        self.size += len(framed)
        d = defer.Deferred()
        self._pending.append((framed, d))
        if self._flush_call is None:
            self._flush_call = self.clock.callLater(0, self._flush)
        return d

    def _flush(self):
        self._flush_call = None
        pending, self._pending = self._pending, []
        try:
            self._file.write(b"".join(framed for framed, _ in pending))
            self._file.flush()
            os.fsync(self._file.fileno())
        except (OSError, ValueError) as e:   # ValueError: closed meanwhile
            for _, d in pending:
                d.errback(e)
            return
        for _, d in pending:
            d.callback(None)

    def records(self):
        """The records on disk, oldest first (what append has confirmed)."""
        return self._read()

    def _read(self):
        with open(self.path, "rb") as f:
            data = f.read()
        out, pos = [], 0
        while pos + 4 <= len(data):
            length = _LENGTH.unpack_from(data, pos)[0]
            if pos + 4 + length > len(data):
                break   # a record cut by a crash mid-write: never confirmed
            out.append(data[pos + 4:pos + 4 + length])
            pos += 4 + length
        return out

    def drop(self, count):
        """Forget the first count records (replayed): the rest, and what was
        appended meanwhile, is written to a new file that replaces this one."""
        self._flush_pending_now()
        rest = self.records()[count:]
        temporary = self.path + ".new"
        with open(temporary, "wb") as f:
            for record in rest:
                f.write(_LENGTH.pack(len(record)) + record)
            f.flush()
            os.fsync(f.fileno())
        self._file.close()
        os.replace(temporary, self.path)
        self._file = open(self.path, "ab")
        self.size = sum(4 + len(r) for r in rest)

    def _flush_pending_now(self):
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
            self._flush()

    def close(self):
        self._flush_pending_now()
        self._file.close()
