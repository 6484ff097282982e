"""Account policies: whether a user may come in by a door, and make a request, now.

A user may be limited to some doors (`doors`: smpp, rest, websms) and some
operations (`operations`: submit, query, cancel, replace), and its account may
end (`expires`). Each face asks `refusal` where a request comes in and says the
answer in its own terms (SMPP: door ESME_RINVSYSID at bind, operation
ESME_RPROHIBITED, expired ESME_RBINDFAIL; query-string API: HTTP15 and HTTP26;
REST: 403). Expiry is checked before the door, so an expired account hears
that it expired wherever it knocks.

system_type (seed 002 asks ESMEs for "smpp", seed 003 for none): anything is
accepted unless the user requires a value, which is compared in any case
(the seeds write it in lower case, ESMEs send it as their library does).
"""

EXPIRED = "expired"
DOOR = "door"
OPERATION = "operation"

SUBMIT, QUERY, CANCEL, REPLACE = "submit", "query", "cancel", "replace"
SMPP, REST, WEBSMS = "smpp", "rest", "websms"


def expired(user, now: float) -> bool:
    return bool(user.expires) and now >= user.expires


def refusal(user, door: str, now: float, operation: str | None = None):
    """None if user may use door (and make operation) at now; else EXPIRED, DOOR
    or OPERATION, the first that applies."""
    if user.expires and now >= user.expires:
        return EXPIRED
    if door not in user.doors:
        return DOOR
    if operation is not None and operation not in user.operations:
        return OPERATION
    return None


def system_type_ok(user, system_type: str) -> bool:
    """Whether a bind's system_type is one the user's account takes."""
    wanted = user.system_type
    return not wanted or system_type.lower() == wanted.lower()
