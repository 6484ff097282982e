"""Smart links in Redis: each short link's record, and each message's clicks.

    lnk:{<token>}            the link's record, a JSON array (LinkRecord): target,
                             user, destination, link id, expiry (unix s), the
                             message's reference, its router id ("" until known);
                             EXAT the expiry
    clk:{<user>}:<router id> a hash, link id -> clicks; EXAT the expiry

The token is the record's hash tag: a redirect knows nothing else, and every
command touches one key, so the layout holds on Redis Cluster. A record is
written before its message is sent (SET NX: a token is never reused) and
gets the message's id once the core accepted it (SET XX); a click is one
script on the message's hash (HINCRBY and EXPIREAT: no read-modify-write),
answering the new count. Each call is one command in the store's next flush.
"""

import json
from dataclasses import dataclass

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# KEYS: clk:{u}:<id>   ARGV: expiry (unix s), link id, link id, ...
# The message's links with no clicks yet (a count already there stays).
INIT_CLICKS = b"""
for i = 2, #ARGV do redis.call('HSETNX', KEYS[1], ARGV[i], 0) end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
"""

# KEYS: clk:{u}:<id>   ARGV: link id, expiry (unix s). Returns the new count.
CLICK = b"""
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return n
"""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def link_key(token: str) -> bytes:
    return b"lnk:{" + token.encode("ascii") + b"}"


def clicks_key(user: str, message_id: str) -> bytes:
    return b"clk:{" + _utf8(user) + b"}:" + _utf8(message_id)


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """What a short link leads to, and whose it is."""
    target: str
    user: str
    destination: str
    link_id: str
    expires: int           # unix seconds
    reference: str = ""    # the message's (http/meta.py): echoed in its click webhook
    message_id: str = ""   # "" until the core accepted the message

    def encode(self) -> bytes:
        return _dumps([self.target, self.user, self.destination, self.link_id, self.expires,
                       self.reference, self.message_id]).encode()


def decode_record(raw: bytes):
    """The LinkRecord of a stored value; None for one that is not ours."""
    try:
        row = json.loads(raw)
        return LinkRecord(*row[:7]) if type(row) is list and len(row) >= 7 else None
    except (ValueError, TypeError):
        return None


class LinksMixin:
    """RedisStore's smart-link calls; `_command` queues one command in the next flush."""

    def save_link(self, token, record: LinkRecord):
        """Deferred(bool): stored, unless the token is already taken."""
        return self._command(b"SET", link_key(token), record.encode(), b"NX", b"EXAT",
                             record.expires).addCallback(_ok)

    def link_message(self, token, record: LinkRecord):
        """Deferred(bool): the record now names its message (False: it is gone)."""
        return self._command(b"SET", link_key(token), record.encode(), b"XX", b"EXAT",
                             record.expires).addCallback(_ok)

    def drop_link(self, token):
        """Deferred: a record whose message was not sent."""
        return self._command(b"DEL", link_key(token))

    def follow_link(self, token):
        """Deferred(LinkRecord, or None for a token unknown or expired)."""
        return self._command(b"GET", link_key(token)).addCallback(
            lambda raw: None if raw is None else decode_record(raw))

    def init_clicks(self, user, message_id, link_ids, expires):
        """Deferred: the message's links, none clicked yet."""
        return self._command(b"EVAL", INIT_CLICKS, 1, clicks_key(user, message_id),
                             int(expires), *[_utf8(i) for i in link_ids])

    def count_click(self, user, message_id, link_id, expires):
        """Deferred(int): the link's clicks, this one counted."""
        return self._command(b"EVAL", CLICK, 1, clicks_key(user, message_id), _utf8(link_id),
                             int(expires)).addCallback(int)

    def clicks(self, user, message_id):
        """Deferred({link id: clicks}) of a message ({} for one without links)."""
        return self._command(b"HGETALL", clicks_key(user, message_id)).addCallback(_counts)


def _ok(reply):
    return reply is not None and reply != 0


def _counts(reply):
    if type(reply) is dict:
        return {k.decode(): int(v) for k, v in reply.items()}
    reply = reply or []
    return {reply[i].decode(): int(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
