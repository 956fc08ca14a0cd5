package redisstore

import "github.com/redis/go-redis/v9"

// The delivery log's scripts. Every key of a log shares the hash tag
// {log} after the prefix, so the scripts may build the keys they touch
// from the base (prefix + "{log}:") on a cluster as on a single node.
//
// An entry's member in the indexes is 32 hex digits: 16 of the event ID's
// hash, then 16 of the connector's. From it the scripts find the entry
// (e:<member>), its event's index (v:<first 16>) and its connector's
// (c:<last 16>).

// logDropLua removes one entry and its place in every index. The state
// indexes are s:1 to s:7 and s:x (any other state).
const logDropLua = `
local function drop(base, m)
  redis.call('DEL', base .. 'e:' .. m)
  redis.call('ZREM', base .. 'u', m)
  redis.call('ZREM', base .. 'v:' .. string.sub(m, 1, 16), m)
  redis.call('ZREM', base .. 'c:' .. string.sub(m, 17, 32), m)
  for _, s in ipairs({'1', '2', '3', '4', '5', '6', '7', 'x'}) do
    redis.call('ZREM', base .. 's:' .. s, m)
  end
end

-- trim drops up to n entries of the given states updated before cutoff
-- (a score), never the entry keep, and returns how many it dropped.
local function trim(base, states, cutoff, n, keep)
  local dropped = 0
  for _, s in ipairs(states) do
    if dropped >= n then break end
    local ids = redis.call('ZRANGEBYSCORE', base .. 's:' .. s, '-inf', '(' .. cutoff, 'LIMIT', 0, n - dropped + 1)
    for _, m in ipairs(ids) do
      if dropped >= n then break end
      if m ~= keep then
        drop(base, m)
        dropped = dropped + 1
      end
    end
  end
  return dropped
end

-- The states the retention lets go (in progress, synced, duplicate,
-- stale, unknown), and the dead letters (failed, dead). Pending entries
-- (s:1) are never dropped.
local settled = {'2', '3', '4', '5', 'x'}
local dead = {'6', '7'}

local function sweep(base, settledCutoff, deadCutoff, n, keep)
  local dropped = 0
  if settledCutoff ~= '' then
    dropped = trim(base, settled, settledCutoff, n, keep)
  end
  if deadCutoff ~= '' and dropped < n then
    dropped = dropped + trim(base, dead, deadCutoff, n - dropped, keep)
  end
  return dropped
end
`

// logPutScript replaces the entry of one (event, connector) and moves it
// in the indexes, then drops a few entries the retention lets go.
//
//	KEYS[1] the entry   KEYS[2] the index of all entries
//	KEYS[3] its event's index   KEYS[4] its connector's index
//	KEYS[5] its state's index
//	ARGV[1] member  ARGV[2] the entry's JSON  ARGV[3] score (Updated, µs)
//	ARGV[4] base  ARGV[5] settled cutoff ('' none)  ARGV[6] dead cutoff ('' none)
//	ARGV[7] how many to drop at most
//
// It returns how many entries it dropped.
var logPutScript = redis.NewScript(logDropLua + `
local m, score = ARGV[1], ARGV[3]
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], score, m)
redis.call('ZADD', KEYS[3], score, m)
redis.call('ZADD', KEYS[4], score, m)
for _, s in ipairs({'1', '2', '3', '4', '5', '6', '7', 'x'}) do
  local k = ARGV[4] .. 's:' .. s
  if k ~= KEYS[5] then redis.call('ZREM', k, m) end
end
redis.call('ZADD', KEYS[5], score, m)
return sweep(ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), m)
`)

// logCleanupScript drops up to ARGV[4] entries the retention lets go.
//
//	KEYS[1] the index of all entries (for routing only)
//	ARGV[1] base  ARGV[2] settled cutoff ('' none)  ARGV[3] dead cutoff ('' none)
//	ARGV[4] how many at most
//
// It returns how many it dropped.
var logCleanupScript = redis.NewScript(logDropLua + `
return sweep(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), '')
`)
