// Package redisstore is a [synclayer.Store] in Redis, on
// github.com/redis/go-redis/v9.
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	store, err := redisstore.New(client, redisstore.WithPrefix("orders:idem:"))
//	d := synclayer.NewDispatcher(reg, synclayer.WithStore(store))
//
// # Configuration
//
// [New] takes any redis.UniversalClient the caller opened (a single node,
// a failover client or a cluster) and options: [WithPrefix] sets the
// prefix of every key (default [DefaultPrefix]), so that several
// applications share one Redis without meeting. There is nothing to
// migrate and nothing to clean: every key expires by itself.
//
// # Keys
//
// For a (connector, record key) pair, with h the first 16 bytes of a
// SHA-256 of the connector and the key, in hex:
//
//	<prefix>{h}:l         the lease: a string holding the holder's token, with the lease TTL (SET NX PX)
//	<prefix>{h}:k         a hash: v = last version applied, key and connector as given (for inspection)
//	<prefix>{h}:d:<e>     the done-marker of an event (e: hash of the event ID), with the retention TTL
//
// The braces make all keys of a record key share a cluster slot, so every
// operation is one script on one node. Keys and event IDs of any bytes and
// length map to short fixed-size names. A done-marker is found through the
// record key its event was completed with (as in the memory store), so a
// Mapper must map an event to the same key every time.
//
// # Delivery semantics
//
// Each operation is one Lua script, run atomically by Redis in one round
// trip (EVALSHA, falling back to EVAL once per connection if the script
// cache was flushed), so a claim-then-complete cycle costs two round trips:
//
//   - Claim: the done-marker exists -> done; the version is not above the
//     stored one -> stale; SET NX PX of the lease fails -> busy, with the
//     lease's remaining PTTL; else acquired.
//   - Complete: deletes the lease if it holds the token, writes the
//     done-marker with the retention as TTL, raises the version, and sets
//     the TTL of the version's hash to the retention.
//   - Release: deletes the lease if it holds the token.
//
// Versions are compared as decimal strings, exactly, over the whole int64
// range. The version of a key is forgotten when its hash expires, one
// retention after the key's last versioned Complete.
//
// Durability is Redis's: with no persistence, or "appendfsync everysec", a
// crash of Redis loses recent markers and versions, and the next delivery
// of their events pushes again (harmless for idempotent upserts, but a
// lost version no longer stops a stale push). Use the sqlstore package
// when that matters.
//
// # Errors
//
// Every error names the operation, the connector, the key and the event,
// and wraps the go-redis error (redis.ErrClosed for a closed client, a
// net.Error for a broken connection); when the context ended, it also
// matches ctx.Err() with errors.Is. The store never answers ClaimDone or
// ClaimStale without a reply from Redis.
//
// A [Store] is safe for concurrent use by any number of goroutines and
// processes.
package redisstore
