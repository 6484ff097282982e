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
METRICS = b"metrics:{router}"   # hash: a worker's consumer name -> its metrics snapshot


_MAPPING_PREFIXES = {}


def mapping_prefix(connector: str) -> bytes:
    """map:{connector}: — the upstream id is appended to it."""
    prefix = _MAPPING_PREFIXES.get(connector)
    if prefix is None:   # connectors come from the config: a handful of entries
        prefix = _MAPPING_PREFIXES[connector] = \
            b"map:{" + connector.encode("utf-8", "surrogatepass") + b"}:"
    return prefix


def mapping(connector: str, upstream_id: str) -> bytes:
    """Made twice per message (its save, its receipt's lookup): the prefix is kept."""
    prefix = _MAPPING_PREFIXES.get(connector)
    if prefix is None:
        prefix = mapping_prefix(connector)
    return prefix + upstream_id.encode("utf-8", "surrogatepass")


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


OUT_GROUP = b"out"      # the one consumer group of every outbound stream
OUT_FIELD = b"i"        # an outbound stream entry's one field: the router id


def _tag(connector: str) -> bytes:
    return b"{" + connector.encode("utf-8", "surrogatepass") + b"}"


_MESSAGE_PREFIXES = {}


def message(connector: str, message_id: str) -> bytes:
    """msg:{connector}:<router id> — a hash: u user, s state, m blob, p priority,
    f final date, e error code, x upstream id."""
    prefix = _MESSAGE_PREFIXES.get(connector)
    if prefix is None:   # connectors come from the config: a handful of entries
        prefix = _MESSAGE_PREFIXES[connector] = b"msg:" + _tag(connector) + b":"
    return prefix + message_id.encode("utf-8", "surrogatepass")


# A synchronous message's record (query_sm's answer) is a field of a hash per
# block of router ids, not a hash of its own: one HSET per block for a batch of
# messages where a hash each cost an HSET and an EXPIRE per message, and the
# receipt's outcome the same way. The field is the id's last two bytes; the
# block, the bytes before them and the high bits of the first of the two
# (ids of a process run are consecutive: a block holds 64 hex ids or 40
# decimal ones, few enough that Redis keeps it as a small listpack, where
# each field is found by a scan). The value is "<state>,<final date>,<error
# code>,<user>" (the user last: any text). The scripts cut ids the same way
# (scripts._RECORD_LIB).
_RECORD_PREFIXES = {}


def record_prefix(connector: str) -> bytes:
    """rec:{connector}: -- a block of records; see record."""
    prefix = _RECORD_PREFIXES.get(connector)
    if prefix is None:   # connectors come from the config: a handful of entries
        prefix = _RECORD_PREFIXES[connector] = b"rec:" + _tag(connector) + b":"
    return prefix


def record(connector: str, message_id: str) -> tuple[bytes, bytes]:
    """(the hash, its field) of a synchronous message's record."""
    raw = message_id.encode("utf-8", "surrogatepass")
    if len(raw) < 2:
        return record_prefix(connector), raw
    return record_prefix(connector) + raw[:-2] + bytes((raw[-2] >> 2 | 0x40,)), raw[-2:]


def outbound(connector: str, priority: bool = False) -> bytes:
    """out:{connector} / outp:{connector} — streams of router ids ready to send."""
    return (b"outp:" if priority else b"out:") + _tag(connector)


def schedule(connector: str) -> bytes:
    """sched:{connector} — router ids by due time (unix ms)."""
    return b"sched:" + _tag(connector)


def expiry(connector: str) -> bytes:
    """exp:{connector} — queued and scheduled router ids by validity (unix ms)."""
    return b"exp:" + _tag(connector)


def outbound_channel(connector: str) -> bytes:
    """outn:{connector} — pub/sub: the connector's outbound streams have new entries."""
    return b"outn:" + _tag(connector)


def lease(queue: str) -> bytes:
    """hookl:{queue} — which process delivers the queue's webhooks (its consumer
    name), PX-expiring unless its holder renews it; in the queue's own slot."""
    return b"hookl:{" + queue.encode("utf-8", "surrogatepass") + b"}"
def balance(user: str) -> bytes:
    """bal:{user} -- a prepaid user's credit, an integer of the router's minor unit."""
    return b"bal:{" + user.encode("utf-8", "surrogatepass") + b"}"


def ledger(user: str) -> bytes:
    """ledger:{user} -- a stream of every change to bal:{user}, for audits."""
    return b"ledger:{" + user.encode("utf-8", "surrogatepass") + b"}"


def charge_prefix(user: str) -> bytes:
    """chg:{user}: -- a charge's marker, the message id appended: what a refund takes."""
    return b"chg:{" + user.encode("utf-8", "surrogatepass") + b"}:"


LIST_INDEX = b"lists:{router}"   # set: the names of the number lists that are not empty


def number_list(kind: str, user: str = "") -> bytes:
    """lst:{<kind>} / lst:{<kind>:<user>} -- a set of destination numbers (normalised):
    the global or a user's list of that kind (core/hygiene.py)."""
    name = kind + ":" + user if user else kind
    return b"lst:{" + name.encode("utf-8", "surrogatepass") + b"}"


def duplicate(user: str, digest: bytes) -> bytes:
    """dup:{user}:<digest> -- a message's fingerprint, present for the user's duplicate_window."""
    return b"dup:{" + user.encode("utf-8", "surrogatepass") + b"}:" + digest
