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
// applications share one Redis without meeting; a prefix with a brace is
// an error that names the option and wraps synclayer.ErrInvalidOption. There
// is nothing to migrate. Every key but the ledger's indexes, and the
// hashes of keys behind, expires by itself (see Freshness ledger).
//
// # Keys
//
// For a (connector, record key) pair, with h the first 16 bytes of a
// SHA-256 of the connector and the key, in hex:
//
//	<prefix>{h}:l         the lease: a string holding the holder's token, with the lease TTL (SET NX PX)
//	<prefix>{h}:k         a hash: v = last version applied, key and connector as given (for inspection),
//	                      and the key's freshness ledger entry
//	<prefix>{h}:d:<e>     the done-marker of an event (e: hash of the event ID), with the retention TTL
//	<prefix>ledger:<c>    a sorted set: the record keys of connector c that have a ledger entry
//
// The braces make all keys of a record key share a cluster slot, so every
// operation is one script on one node. Keys and event IDs of any bytes and
// length map to short fixed-size names. A done-marker is found through the
// record key its event was completed with (as in the memory store), so a
// Mapper must map an event to the same key every time.
//
// # Delivery semantics
//
// Each operation is one Lua script, run atomically by Redis:
//
//   - Claim: the done-marker exists -> done; the version is not above the
//     stored one -> stale; SET NX PX of the lease fails -> busy, with the
//     lease's remaining PTTL; else acquired.
//   - Complete: deletes the lease if it holds the token, writes the
//     done-marker with the retention as TTL, raises the version, writes
//     the key's ledger entry, and sets the TTL of the key's hash to the
//     retention, unless the entry is still behind (a version wanted above
//     the one completed, or a drift found by a check that an older
//     Complete does not clear).
//   - Release: deletes the lease if it holds the token.
//   - Renew ([idempotency.LeaseRenewer]): sets the lease's TTL to the claim's
//     LeaseTTL from now if the token holds it, and reports whether it did.
//     A lease that expired, was taken by another holder or was released is
//     left as it is. The dispatcher takes short leases and renews them
//     while a push runs, so a dead process frees its keys within one TTL.
//
// # Freshness ledger
//
// [Store] is a [synclayer.Ledger] too, so a Dispatcher over it keeps its
// freshness ledger in the keys' hashes: fields e (event of the last push),
// h (its payload's hash), p (when, Redis's clock, Unix ms), w and wa (the
// version wanted, since when), va and dr (the last check and its drift).
// Complete's script writes them and adds the record key to the
// connector's index, a sorted set whose scores are all 0, so that
// ZRANGEBYLEX walks it in byte order. On a cluster or a ring the index
// lives in another slot or shard than the key's hash, so there the ZADD is
// a command of its own beside the script, in the same round trip. An
// entry lives as long as its hash: one retention after the key's last
// Complete, or, while it is behind (Want asked for a version not yet
// completed, or Verified found a drift), for good: its hash keeps no TTL
// until a Complete brings it level, which sets the TTL again (a later
// check in sync does not). The index keeps the keys of expired hashes; Holdings
// and Summary skip them. [Store.Holding] is one HMGET; [Store.Holdings] and
// [Store.Summary] cost two round trips per 512 keys of the index, Summary
// reading the whole index: for a reconciler's walk and a status page, not a
// hot path.
//
// # Group commit
//
// The concurrent calls of one [Store] share round trips. A call that finds
// no round trip in flight is sent at once, alone, by its caller, with the
// caller's context: a lone call waits for no timer and no other call. The
// calls that arrive while a round trip is in flight gather, and go as soon
// as it returns, in one pipeline (at most 128 calls a pipeline; more go as
// several pipelines at once). A pipeline holds one EVALSHA per call, so
// each call stays atomic on its own and gets its own reply, with exactly
// the semantics of a call sent alone. Under concurrency many events thus
// share each round trip. The store runs no goroutine between calls and
// has nothing to close.
//
// Why a pipeline and not one script over many calls: a script may only
// touch keys of one cluster slot, and the keys of two record keys almost
// never share one. A pipeline needs no common slot: a cluster client
// splits it per node, one round trip to each, and a single node runs it
// as it comes.
//
// A round trip that fails (a broken connection, a timeout, a closed
// client) fails the calls it carried, each with an error naming its
// operation, connector, key and event and the size of its round trip; the
// next round trip starts afresh. A script the server no longer has (its
// cache was flushed: NOSCRIPT) did not run, and is sent again in full with
// EVAL, in one more round trip.
//
// Each caller's context is honoured: a call whose context ends while it
// waits returns at once with the context's error. If it had not been sent
// yet it never is; if it had, it may still take effect in Redis, as any
// call cut off mid-flight may, and a lease that such an abandoned claim
// acquired is released by the store, as nobody holds its token. So is,
// best effort, the lease of any claim that failed after it may have been
// sent (a lone claim whose caller's context ended mid-flight, a reply
// lost to a read timeout or a broken connection): the store sends a
// Release with its token in its next round trip. That Release does
// nothing if the claim took no lease, and cannot free one the claim takes
// after it (a claim still on its way to Redis when the Release gets
// there, or a Release that fails): such a lease ends with its LeaseTTL.
//
// Versions are compared as decimal strings, exactly, over the whole int64
// range. The version of a key is forgotten when its hash expires, one
// retention after the key's last versioned Complete, never while its
// ledger entry is behind.
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
// matches ctx.Err() with errors.Is. Every reply is checked for its whole
// shape before it is read: a reply the scripts never give is [ErrNoAnswer].
// The store never answers ClaimDone or ClaimStale without a reply from
// Redis.
//
// A [Store] is safe for concurrent use by any number of goroutines and
// processes.
package redisstore
