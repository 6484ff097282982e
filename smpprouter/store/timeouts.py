"""Messages waiting for a receipt past their connector's receipt_timeout.

One sorted set per connector, in the slot of its mappings:

    due:{c}   member: a mapping's upstream id (map:{c}:<member>)
              score:  unix ms the router's own receipt is due, or, while a
                      sweep writes that receipt, minus the unix ms its lease ends

The set is written by the scripts the receipt path already runs, so a
message costs no command of its own: the script that SETs a mapping with a
receipt asked for ZADDs it (scripts.SAVE_MAPPINGS / SAVE_SENT), and the one
that reads a mapping for a final receipt ZREMs it (GET_MAPPINGS). Whoever
takes the member out of the pending state first decides: a receipt found
pending is relayed and ends the wait; a member a sweep leased reads as "no
mapping yet" to a receipt, which then waits (core/receipts.py parks it) and
finds the late marker the sweep leaves in the mapping's place.

TAKE_OVERDUE leases the due members (and those whose lease ran out: their
sweep died), FINISH_OVERDUE ends them once their receipt is queued: the
mapping becomes the marker (kept for the rest of its TTL) and the member
leaves the set. A sweep that dies in between leaves them to the next after
the lease: the router's receipt comes at least once, and only a process
dying between queueing it and FINISH_OVERDUE repeats it.
"""

from .codec import decode_mapping
from .errors import CorruptValue
from .keys import mapping_prefix

# KEYS: due:{c}   ARGV: now ms, lease ms, count, map prefix
# Returns {member, mapping, ...} of the members now leased to the caller; a
# member whose mapping is gone (it expired) is dropped.
TAKE_OVERDUE = b"""
local k, now = KEYS[1], tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', k, 0, now, 'LIMIT', 0, ARGV[3])
local stale = redis.call('ZRANGEBYSCORE', k, -now, '(0', 'LIMIT', 0, ARGV[3])
for _, id in ipairs(stale) do ids[#ids + 1] = id end
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[4] .. id)
  if v then
    redis.call('ZADD', k, -(now + tonumber(ARGV[2])), id)
    out[#out + 1] = id
    out[#out + 1] = v
  else
    redis.call('ZREM', k, id)
  end
end
return out
"""

# KEYS: due:{c}   ARGV: map prefix, then member, marker pairs
# The router's receipt for each is queued: its mapping becomes the marker (if it
# still exists, for the rest of its TTL; an empty marker leaves it) and it
# leaves the set.
FINISH_OVERDUE = b"""
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then
    redis.call('SET', ARGV[1] .. ARGV[i], ARGV[i + 1], 'KEEPTTL', 'XX')
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return 1
"""


def key(connector: str) -> bytes:
    return b"due:{" + connector.encode("utf-8", "surrogatepass") + b"}"


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _taken(reply):
    out = []
    for i in range(0, len(reply) - 1, 2):
        member = reply[i].decode("utf-8", "surrogatepass")
        try:
            out.append((member, decode_mapping(reply[i + 1])))
        except CorruptValue:
            out.append((member, None))
    return out


class TimeoutsMixin:
    """watch_receipts / take_overdue / finish_overdue for RedisStore; the
    per-message part lives in its save_mapping and flush (redis.py)."""

    def _init_timeouts(self):
        self._timeouts = {}   # connector -> receipt_timeout (s)

    def watch_receipts(self, connector, timeout):
        """From now on, a mapping of connector saved with a receipt asked for is
        due the router's own receipt timeout seconds later (0: never)."""
        if timeout > 0:
            self._timeouts[connector] = timeout
        else:
            self._timeouts.pop(connector, None)

    def take_overdue(self, connector, now, lease, count):
        """Deferred([(upstream id, Mapping or None if undecodable)]): messages
        whose receipt is overdue, leased to the caller for lease seconds."""
        d = self._command(b"EVAL", TAKE_OVERDUE, 1, key(connector), int(now * 1000),
                          int(lease * 1000), int(count), mapping_prefix(connector))
        return d.addCallback(_taken)

    def finish_overdue(self, connector, done):
        """done: [(upstream id, marker bytes, or b"" to leave the mapping)] whose
        receipt is queued."""
        args = [b"EVAL", FINISH_OVERDUE, 1, key(connector), mapping_prefix(connector)]
        for member, marker in done:
            args += (_b(member), marker)
        return self._command(*args)

    def _due_args(self, connector, pending, keys):
        """The ARGV of the connector's first save script of the turn for its
        mappings saved with a receipt asked for (pending, their upstream ids):
        one clock reading for them all. keys: how many mappings the script
        SETs, when they are all the connector saves this turn (-1 if not): if
        each of them waits, the script takes their members from their keys
        (scripts._DUE_LIB)."""
        score = int((self._clock() + self._timeouts.get(connector, 0)) * 1000)
        if len(pending) == keys:
            return (key(connector), score, b"*", len(mapping_prefix(connector)))
        args = [key(connector), score]
        args += [member.encode("utf-8", "surrogatepass") for member in pending]
        return args
