"""The parts of a message the router split: which are final, and who writes its receipt.

One hash per split message, in the slot of the connector its parts went
through (where their mappings are), so the script touches one slot:

    part:{c}:<router id>   "1".."n"  the final message_state of each part, set once
                           r         the receipt's writer: unix ms it claimed the
                                     receipt, or "d" once the receipt is queued

RECORD_PART records one part's final state (the first receipt for the part
wins; repeats change nothing) and answers whether this call completed the
message: then it claims the receipt and returns every part's state, so across
any number of processes one caller writes the one receipt. A writer that died
before queueing it (no "d") leaves the claim to the next receipt of a part
after `lease` ms: the upstream sends an unanswered receipt again, and one that
comes while the claim is held is answered "busy" (the upstream keeps it and
sends it later), so the receipt comes at least once and, unless a process
dies in between, once.
"""

RECORDED, COMPLETE, BUSY = 0, 1, 2

# KEYS: part:{c}:<id>   ARGV: part, total, state digit, ttl (s), now (ms), lease (ms)
# Returns {0} (recorded, or a repeat: nothing to write), {2} (another writer holds
# the receipt) or {1, state of part 1, ..., state of part n} (write the receipt).
RECORD_PART = b"""
local k = KEYS[1]
if redis.call('HSETNX', k, ARGV[1], ARGV[3]) == 1 then
  redis.call('EXPIRE', k, ARGV[4])
end
local total = tonumber(ARGV[2])
local r = redis.call('HGET', k, 'r')
local n = redis.call('HLEN', k)
if r then n = n - 1 end
if n < total or r == 'd' then return {0} end
if r and tonumber(r) > tonumber(ARGV[5]) - tonumber(ARGV[6]) then return {2} end
redis.call('HSET', k, 'r', ARGV[5])
local out = {1}
for i = 1, total do out[i + 1] = redis.call('HGET', k, tostring(i)) end
return out
"""

# KEYS: part:{c}:<id>   The message's receipt is queued: no one writes it again.
RECEIPT_QUEUED = b"""
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'r', 'd') end
return 1
"""


def key(connector: str, message_id: str) -> bytes:
    return b"part:{" + connector.encode("utf-8", "surrogatepass") + b"}:" \
        + message_id.encode("utf-8", "surrogatepass")


def _recorded(reply):
    code = int(reply[0])
    if code != COMPLETE:
        return code, None
    return code, [int(state) for state in reply[1:]]


class MultipartMixin:
    """record_part / part_receipt_queued; needs the store's `_script(script, key,
    *args)` (RedisStore: EVAL in the next flush; these run only for split
    messages, once per part's final receipt)."""

    def record_part(self, connector, message_id, part, total, state, ttl, now, lease):
        """Deferred((code, states)): RECORDED or BUSY with None, or COMPLETE with
        the final message_state of every part in order. now, lease: seconds."""
        return self._script(RECORD_PART, key(connector, message_id), int(part), int(total),
                            int(state), max(1, int(ttl)), int(now * 1000),
                            int(lease * 1000)).addCallback(_recorded)

    def part_receipt_queued(self, connector, message_id):
        return self._script(RECEIPT_QUEUED, key(connector, message_id))
