package redisstore

import "github.com/redis/go-redis/v9"

// The store's operations, each one Lua script that Redis runs atomically.
// The KEYS of a script all share one hash tag (see [Store.keys]), so each
// script touches one cluster slot.

// claimScript decides done -> stale -> busy -> acquired, taking the lease
// with SET NX PX. A lease that already holds this claim's token is this
// claim's own, taken by a first try whose reply was lost before the client
// resent the script: it is acquired, not busy. KEYS: done-marker, lease,
// key hash. ARGV: version, token, lease TTL in ms. Reply: {status, last
// version[, lease ms left]}, status 1 done, 2 stale, 3 busy, 4 acquired.
var claimScript = redis.NewScript(versionCmp + `
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, '0'} end
local cur = redis.call('HGET', KEYS[3], 'v') or '0'
local want = ARGV[1]
if want ~= '0' and not greater(want, cur) then return {2, cur} end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {4, cur} end
if redis.call('GET', KEYS[2]) == ARGV[2] then return {4, cur} end
return {3, cur, redis.call('PTTL', KEYS[2])}
`)

// completeScript drops the lease if the token holds it, writes the
// done-marker for the retention, and raises the version. KEYS: done-marker,
// lease, key hash. ARGV: version, token, retention ms, record key,
// connector. Reply: 1.
var completeScript = redis.NewScript(versionCmp + `
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local ret = tonumber(ARGV[3])
if ret > 0 then redis.call('SET', KEYS[1], '1', 'PX', ret) end
local want = ARGV[1]
if want ~= '0' and string.sub(want, 1, 1) ~= '-' then
	local cur = redis.call('HGET', KEYS[3], 'v')
	if not cur or greater(want, cur) then
		redis.call('HSET', KEYS[3], 'v', want, 'key', ARGV[4], 'connector', ARGV[5])
	end
	if ret > 0 then redis.call('PEXPIRE', KEYS[3], ret) end
end
return 1
`)

// releaseScript drops the lease if the token holds it. KEYS: lease. ARGV:
// token. Reply: 1 dropped, 0 not held by the token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// renewScript sets the lease's TTL anew if the token holds it. KEYS: lease.
// ARGV: token, lease TTL in ms. Reply: 1 renewed, 0 not held by the token.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// versionCmp compares versions as decimal strings, exactly (Lua numbers
// are doubles, and versions are 64-bit): greater(a, b) reports a > b.
const versionCmp = `
local function greater(a, b)
	local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
	if na ~= nb then return nb end
	if na then a, b = string.sub(b, 2), string.sub(a, 2) end
	if #a ~= #b then return #a > #b end
	return a > b
end
`
