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
// done-marker for the retention, raises the version and sets the TTL of
// the key's hash to the retention. With ARGV[8] "1" it also writes the
// key's ledger entry (see pushedLua), and sets that TTL only if the entry
// is not still behind (see behindLua), and, given a fourth key, adds the
// record key to that ledger index (unless the hash had a push, which put
// it there). Without, as for synclayer's own namespaces (a connector
// starting with '$'), an unversioned Complete leaves the hash alone. KEYS:
// done-marker, lease, key hash[, the connector's ledger index]. ARGV:
// version, token, retention ms, record key, connector, event ID, payload
// hash, "1" to write the ledger. Reply: 1.
var completeScript = redis.NewScript(versionCmp + nowLua + pushedLua + behindLua + `
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local ret = tonumber(ARGV[3])
if ret > 0 then redis.call('SET', KEYS[1], '1', 'PX', ret) end
local want = ARGV[1]
if ARGV[8] == '1' then
	local was = pushed(KEYS[3], want, ARGV[6], ARGV[7], now(), ARGV[4], ARGV[5])
	if ret > 0 and not behind(KEYS[3]) then redis.call('PEXPIRE', KEYS[3], ret) end
	if KEYS[4] and not was then redis.call('ZADD', KEYS[4], 0, ARGV[4]) end
elseif want ~= '0' and string.sub(want, 1, 1) ~= '-' then
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

// nowLua is now(): the server's clock in Unix ms, as a decimal string.
const nowLua = `
local function now()
	local t = redis.call('TIME')
	return string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
`

// pushedLua is pushed(k, version, event, hash, at, key, connector): the
// rule of synclayer.Ledger.Pushed on the key hash k. A push of version 0
// or of at least the stored version sets e (event), h (hash) and p
// (pushed at, Unix ms), raises v, and drops w and wa (wanted, since) once
// v reaches w, and dr (drift) unless it is 1 (in sync); an older push
// changes nothing. It returns the p the hash had before (false if none).
const pushedLua = `
local function pushed(k, want, e, h, at, key, conn)
	local f = redis.call('HMGET', k, 'v', 'w', 'dr', 'p')
	local cur = f[1] or '0'
	if want ~= '0' and greater(cur, want) then return f[4] end
	if want ~= '0' and greater(want, cur) then
		redis.call('HSET', k, 'e', e, 'h', h, 'p', at, 'v', want, 'key', key, 'connector', conn)
		cur = want
	else
		redis.call('HSET', k, 'e', e, 'h', h, 'p', at)
	end
	if f[2] and not greater(f[2], cur) then redis.call('HDEL', k, 'w', 'wa') end
	if f[3] and f[3] ~= '1' then redis.call('HDEL', k, 'dr') end
	return f[4]
end
`

// behindLua is behind(k): whether the ledger entry in the key hash k is
// behind (synclayer.Holding.Behind): a version is wanted above the held
// one (w, which pushed drops once v reaches it), or the last check found a
// drift (dr missing, differs or unexpected). Such a hash keeps no TTL, so
// that a key behind is not forgotten before it is pushed.
const behindLua = `
local function behind(k)
	local f = redis.call('HMGET', k, 'w', 'dr')
	return f[1] ~= false or f[2] == '2' or f[2] == '3' or f[2] == '4'
end
`

// pushedScript is synclayer.Ledger.Pushed. KEYS: key hash. ARGV: version,
// event ID, payload hash, pushed at (Unix ms), record key, connector.
// Reply: 1.
var pushedScript = redis.NewScript(versionCmp + pushedLua + `
pushed(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 1
`)

// wantScript is synclayer.Ledger.Want: a version above the held and the
// wanted one becomes w, since now if nothing was wanted, and the hash
// loses its TTL, so that a key behind is not forgotten before it is
// pushed. KEYS: key hash. ARGV: version. Reply: 1.
var wantScript = redis.NewScript(versionCmp + nowLua + `
local cur = redis.call('HGET', KEYS[1], 'v') or '0'
local w = redis.call('HGET', KEYS[1], 'w')
if greater(ARGV[1], cur) and (not w or greater(ARGV[1], w)) then
	if not w then redis.call('HSET', KEYS[1], 'wa', now()) end
	redis.call('HSET', KEYS[1], 'w', ARGV[1])
	redis.call('PERSIST', KEYS[1])
end
return 1
`)
