"""What a store call can fail with, so callers can tell "try later" from "refused".

These belong beside ICorrelationStore (interface.py); they live here until the
interface module takes them.
"""


class StoreError(Exception):
    """Base of every error a correlation store raises."""


class StoreUnavailable(StoreError):
    """Redis could not be reached, or did not answer in time.

    Transient: the store reconnects by itself; the caller should refuse the
    work with a temporary error (e.g. ESME_RSYSERR / a throttling status)
    rather than wait.
    """


class QueueFull(StoreError):
    """The user's delivery queue already holds its maximum of entries.

    Nothing was written: an undelivered receipt is never trimmed to make room.
    """


class CorruptValue(StoreError):
    """A stored value could not be decoded (written by something else?)."""


class CommandRefused(StoreError):
    """Redis answered a command with an error: a bug, or a server too old/misconfigured."""

    def __init__(self, command, reply: str):
        self.command = command.decode() if isinstance(command, bytes) else str(command)
        self.reply = reply
        super().__init__(f"Redis refused {self.command}: {reply}")
