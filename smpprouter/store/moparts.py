"""The parts of concatenated MOs, kept in Redis until their message is whole.

Two keys per connector slot, so every script touches one slot:

    mop:{c}:<set id>   a hash: "1".."n" each part as its delivery entry (the
                       first copy wins), s the set's state: absent while open,
                       unix ms of the claim of whoever delivers it, "d" once
                       delivered; EXPIRE 2 x timeout + lease from its first part
    mox:{c}            a sorted set of set ids by when to look at them (unix ms):
                       the first part's time + timeout while open, the claim's
                       time + lease while claimed; left when delivered

ADD_PART stores one part and answers whether this call completed the set:
then it claims the set and returns every part, so across any number of
processes one caller delivers the message. A part stored is safe (the
upstream hears ESME_ROK for it); a caller that dies after its claim leaves
the set to whoever comes after the lease (a resent last part, or TAKE_DUE):
delivered at least once. A copy of a part of a delivered set is ignored; a
different part with the same set id after that is a reused reference and
opens a new set; a part that was never there is late: the caller delivers it
alone. TAKE_DUE claims the sets whose time has come (their parts delivered as
they are) and any whose claimer died. DONE marks a set delivered.
"""

STORED, COMPLETE, BUSY, LATE = 0, 1, 2, 3

# KEYS: mop:{c}:<id>, mox:{c}
# ARGV: seqnum, total, part, now (ms), deadline (ms), ttl (s), lease (ms), set id
# Returns {0} stored or a copy, {2} another caller is delivering the set (send
# it again later), {3} a part of a set already delivered without it, or
# {1, part 1, ..., part n}: this caller delivers the set.
ADD_PART = b"""
local k, now, lease = KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[7])
local s = redis.call('HGET', k, 's')
if s == 'd' then
  local had = redis.call('HGET', k, ARGV[1])
  if had == ARGV[3] then return {0} end
  if had then redis.call('DEL', k); s = false else return {3} end
end
if s and tonumber(s) > now - lease then return {2} end
redis.call('HSETNX', k, ARGV[1], ARGV[3])
local total = tonumber(ARGV[2])
local n = redis.call('HLEN', k)
if s then n = n - 1 end
if n == 1 and not s then
  redis.call('EXPIRE', k, ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[8])
end
if n < total then return {0} end
redis.call('HSET', k, 's', now)
redis.call('ZADD', KEYS[2], now + lease, ARGV[8])
local out = {1}
for i = 1, total do out[i + 1] = redis.call('HGET', k, tostring(i)) end
return out
"""

# KEYS: mox:{c}   ARGV: now (ms), lease (ms), at most this many sets, the mop:{c}: prefix
# Claims each set due (open past its timeout, or claimed by a caller that has
# not finished within the lease) and returns {id, {seqnum, part, ...}, ...};
# forgets ids whose set is delivered or gone.
TAKE_DUE = b"""
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(due) do
  local k = ARGV[4] .. id
  local s = redis.call('HGET', k, 's')
  if s == 'd' or redis.call('EXISTS', k) == 0 then
    redis.call('ZREM', KEYS[1], id)
  elseif s and tonumber(s) > now - lease then
    redis.call('ZADD', KEYS[1], tonumber(s) + lease, id)
  else
    redis.call('HSET', k, 's', now)
    redis.call('ZADD', KEYS[1], now + lease, id)
    local parts = {}
    local all = redis.call('HGETALL', k)
    for i = 1, #all, 2 do
      if all[i] ~= 's' then
        parts[#parts + 1] = all[i]
        parts[#parts + 1] = all[i + 1]
      end
    end
    out[#out + 1] = id
    out[#out + 1] = parts
  end
end
return out
"""

# KEYS: mop:{c}:<id>, mox:{c}   ARGV: set id. Its message is queued: the set is
# delivered (kept until it expires, to know copies of its parts).
DONE = b"""
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 's', 'd') end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


def _tag(connector: str) -> bytes:
    return b"{" + connector.encode("utf-8", "surrogatepass") + b"}"


def set_key(connector: str, set_id: bytes) -> bytes:
    return b"mop:" + _tag(connector) + b":" + set_id


def index_key(connector: str) -> bytes:
    return b"mox:" + _tag(connector)


def _added(reply):
    code = int(reply[0])
    return code, (list(reply[1:]) if code == COMPLETE else None)


def _due(reply):
    sets = []
    for i in range(0, len(reply), 2):
        fields = reply[i + 1]
        parts = {int(fields[j]): fields[j + 1] for j in range(0, len(fields), 2)}
        sets.append((reply[i], parts))
    return sets


class MOPartsMixin:
    """add_mo_part / take_due_mo_sets / mo_set_done; needs the store's
    `_script(script, key, *args)` with more keys given as bytes in `keys`
    (only concatenated MOs and the sweep use them)."""

    def add_mo_part(self, connector, set_id, seqnum, total, part, now, timeout, lease):
        """Deferred((code, parts)): STORED, BUSY or LATE with None, or COMPLETE
        with every part (its stored bytes) in seqnum order. Times in seconds."""
        ms = int(now * 1000)
        ttl = max(1, int(2 * timeout + lease + 1))
        return self._script_keys(
            ADD_PART, (set_key(connector, set_id), index_key(connector)), int(seqnum),
            int(total), part, ms, ms + int(timeout * 1000), ttl, int(lease * 1000),
            set_id).addCallback(_added)

    def take_due_mo_sets(self, connector, now, lease, limit=100):
        """Deferred([(set id, {seqnum: part})]) of the sets this caller now delivers."""
        return self._script_keys(
            TAKE_DUE, (index_key(connector),), int(now * 1000), int(lease * 1000),
            int(limit), set_key(connector, b"")).addCallback(_due)

    def mo_set_done(self, connector, set_id):
        return self._script_keys(DONE, (set_key(connector, set_id), index_key(connector)),
                                 set_id)

    def _script_keys(self, script, redis_keys, *args):
        return self._command(b"EVAL", script, len(redis_keys), *redis_keys,
                             *[a.encode() if type(a) is str else a for a in args])
