"""Typed protocol errors, split by who broke the protocol (as h11 does).

Every error carries the command_status to answer with, so the layer that
catches it never has to guess: a DecodeError on a request becomes a
response with that status (or a generic_nack when the command itself is
unknown), a FramingError means the byte stream cannot be resynchronised and
the session must end.
"""

from .status import Status, status_name


class SMPPError(Exception):
    """Base of every error the protocol layer raises."""

    def __init__(self, status: int, reason: str, command_id: int | None = None,
                 sequence_number: int | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.command_id = command_id
        self.sequence_number = sequence_number

    def __str__(self) -> str:
        return "%s: %s" % (status_name(self.status), self.reason)


class DecodeError(SMPPError):
    """The remote peer sent bytes that are not a valid PDU.

    ``command_id`` and ``sequence_number`` are set whenever the header could
    be read; the PDU's bytes have then been consumed and the stream goes on.
    """


class FramingError(DecodeError):
    """The command_length cannot be trusted: the stream is lost."""

    def __init__(self, reason: str, command_id: int | None = None,
                 sequence_number: int | None = None):
        super().__init__(Status.ESME_RINVCMDLEN, reason, command_id, sequence_number)


class EncodeError(SMPPError):
    """We were asked to send something SMPP cannot carry."""


class StateError(SMPPError):
    """A PDU that is not allowed in the session's current state."""
