"""What the two protocol faces ask of the router core.

The faces know sessions and PDUs, never routes, users' balances or Redis;
the core knows those and never touches a transport. These interfaces are the
whole contract between them, so either side can be tested against a fake.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


@dataclass(frozen=True, slots=True)
class BindResult:
    """The answer to a bind: a status, and for ESME_ROK the session's settings."""
    status: int
    user: str = ""
    window: int = 10
    message_id_format: str = "hex"
    session_id: str = ""   # the session's name in the cross-process registry
    window_policy: str = "pause"   # beyond the window: "pause" reading, or "refuse"
    logged: bool = False   # a refusal the core has logged (or logs once, as a lockout)


class IESMEGateway(Interface):
    """The router core as seen by ESME-facing sessions."""

    system_id = Attribute("The system_id the router answers binds with.")

    def authenticate(system_id, password, mode, session):
        """Deferred(BindResult): credentials, bind limits, the account's policies
        (session.system_type is the bind's); nothing else is revealed."""

    def session_bound(session):
        """The session is bound (after its bind_resp ESME_ROK was written)."""

    def session_closed(session):
        """The session's connection is gone."""

    def submit(session, submission, answer):
        """Carry out a core.messages.Submission the session made of a submit_sm, a
        data_sm or one destination of a submit_multi: answer(Outcome) is called
        exactly once, possibly before submit returns. A plain callback, not a
        Deferred: this is the hot path, and the core always answers (a bug in it
        answers ESME_RSYSERR)."""

    def query(session, message_id):
        """Deferred(QueryAnswer) for the session's user's message message_id."""

    def cancel(session, message_id):
        """Deferred(status): ESME_ROK if the user's message was still held
        (scheduled or queued) and is now cancelled, else ESME_RCANCELFAIL."""

    def replace(session, message_id, body, schedule, validity, registered_delivery):
        """Deferred(status) for replace_sm: ESME_ROK if the user's message was still
        held and now carries the new body (and schedule/validity when not None),
        else ESME_RREPLACEFAIL."""


class ISMSCGateway(Interface):
    """The router core as seen by the SMSC-facing connectors."""

    def upstream_deliver(connector, delivery, answer):
        """Take a deliver_sm or data_sm an upstream sent, as the core.messages.Receipt
        or Inbound the connector made of it (smpp.adapt): answer(status) is called
        exactly once, ESME_ROK only once it is safe; the status goes back upstream."""
