"""The Redis key contract (see DESIGN.md, "Redis contract"), in one place.

Every key carries a {hash tag} so that everything one batch touches lives in
one Redis Cluster slot: the mappings of one connector, the queue of one user.
Names go to Redis as UTF-8 bytes ("surrogatepass": any str, even one decoded
from bytes with surrogateescape, makes a key, and distinct names distinct
keys); a name holding "{" or "}" still maps all its keys to one slot, because
the tag is cut at the same place in each of them.
"""

GROUP = b"dlv"          # the one consumer group of every delivery stream
FIELD = b"p"            # the stream entry's one field: the encoded deliver_sm
IDS = b"ids:{router}"   # INCRBY counter behind allocate_id_block


def mapping_prefix(connector: str) -> bytes:
    """map:{connector}: — the upstream id is appended to it."""
    return b"map:{" + connector.encode("utf-8", "surrogatepass") + b"}:"


def mapping(connector: str, upstream_id: str) -> bytes:
    return mapping_prefix(connector) + upstream_id.encode("utf-8", "surrogatepass")


def queue(user: str) -> bytes:
    """dlv:{user} — a stream of pending deliveries, consumer group GROUP."""
    return b"dlv:{" + user.encode("utf-8", "surrogatepass") + b"}"


def channel(user: str) -> bytes:
    """dlvn:{user} — pub/sub channel announcing new entries in dlv:{user}.

    Channels are not keys (they ignore the database number and cluster slots);
    the tag is kept only so the name reads like its stream's.
    """
    return b"dlvn:{" + user.encode("utf-8", "surrogatepass") + b"}"


def sessions(user: str) -> bytes:
    """sess:{user} — the user's bound sessions in every process, scored by expiry."""
    return b"sess:{" + user.encode("utf-8", "surrogatepass") + b"}"
