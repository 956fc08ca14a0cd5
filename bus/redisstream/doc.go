// Package redisstream is a synclayer bus on Redis Streams: a
// [synclayer.Publisher] and [synclayer.Subscriber] that let several
// instances of a service share the events through a consumer group.
//
// # Configuration
//
// [NewBus] takes the caller's go-redis client (addresses, credentials, TLS
// and pool are configured there) and a key prefix. Events of type T are
// appended with XADD to the stream "{prefix}:event:T", bounded to about
// [WithMaxLen] entries; dead letters go to "{prefix}:deadletter". The braces
// keep every key of a bus in one Redis Cluster slot.
//
// Every [Bus.Subscribe] joins the consumer group [WithGroup] (default
// "synclayer", created at the start of the stream if missing) as a consumer
// of its own, and reads with XREADGROUP: subscribers of one group, in one
// process or many, share the events.
//
// Each option's doc gives its default. A zero value given to an option means
// that default; a value the option cannot take makes [NewBus] fail with an
// error wrapping [synclayer.ErrInvalidOption] that names the option.
//
// # Delivery semantics
//
// Delivery is at least once; the delivery count is the one Redis keeps in
// the group's pending entries list:
//
//   - a handler's nil acknowledges the entry (XACK, sent together with the
//     acknowledgements that queued up meanwhile);
//   - a handler's error hands the entry to the group's retry consumer
//     ("synclayer-retry"); a subscriber claims it back and redelivers it
//     once it has waited [WithRedeliveryDelay], doubled for every delivery;
//   - a [synclayer.IsPermanent] error, or an error on the last of
//     [WithMaxDeliveries] deliveries, appends the entry to the dead-letter
//     stream with the fields "deadletter-reason", "deadletter-deliveries",
//     "deadletter-stream" and "deadletter-id", and acknowledges it, in one
//     transaction;
//   - an error marked with [synclayer.Redeliver] (the event came too
//     early) hands the entry to the retry consumer too, to be redelivered
//     once the delay it names has passed, and that delivery is not counted
//     toward the limit;
//   - an entry that is not a valid CloudEvent is dead-lettered at once.
//
// Redis counts every delivery, deferrals included. The bus counts the
// deferrals of each entry in a hash of the group, [Bus.DeferralsKey]
// (field "<entry id> <stream>", value "<delay ms>:<deferrals>"), and takes
// them off Redis's count; the field goes when the entry is acknowledged or
// dead-lettered. The hash is shared by every process of the group and
// survives restarts, so deferrals are never counted, except when the
// deferral could not be written (Redis failing at that moment): that
// delivery then counts. A field outlives its entry only when the entry
// leaves the stream without being settled (trimmed by [WithMaxLen] while
// pending).
//
// The entries of a running handler, and those read in a batch and
// waiting for a free handler slot, are kept fresh every third of
// [WithClaimIdle] (default 10s); those of a consumer that died (a process
// killed, say) are reclaimed by the others, or by the restarted process,
// with XAUTOCLAIM once idle that long: the subscribers look for them every
// fifth of it, so such entries are delivered again within about 12s with
// the defaults. Each look, for these entries as for due retries, is
// bounded in work and goes on where the previous one stopped, so an entry
// is found however many others come before it in the pending list (a
// list longer than one look covers takes a few looks). Parked entries
// (retries and deferrals) are reclaimed the same way if their delay is
// longer than the claim idle time, so that time also caps the retry
// delays. A subscriber reads entries in batches of
// [WithConcurrency]; when it stops, those it had read but not started go to
// the retry consumer at once, due at once, their read recorded as a
// deferral (it does not count as a delivery).
//
// Entries hold a structured-mode CloudEvent 1.0 in the field "event".
// Binary-mode entries ("ce-" fields and the data in "data") are accepted.
//
// # Shutdown
//
// Cancelling a Subscribe's context stops it: the entries it had read but
// not started go to the retry consumer, and the handlers in flight see
// their context end. [Bus.Close] stops every Subscribe of the bus more
// gently: they read and claim no new entry, and the handlers in flight may
// finish (and publish), their entries kept fresh, until Close's context
// ends. A handler whose context ended before it returned and that then
// fails (with anything but a [synclayer.Permanent] error, which still
// dead-letters at once) gets its entry parked with the retry consumer, due
// at once and recorded as a deferral: the delivery does not count, so even
// on its last allowed delivery the event is not dead-lettered. The bus
// never closes the go-redis client it was given: the caller does, after
// Close.
//
// # Publishing
//
// Publish calls made while another call's XADD is in flight gather, and
// go out together as one pipeline when it returns (no timer: a lone call
// is sent at once). Under a Dispatcher's Run, where every handler
// publishes an announcement, this spares Redis's single thread a round
// trip per event. [Bus.PublishBatch] sends a batch the caller already
// holds (the outbox's relay) in one pipeline.
//
// # Errors
//
// Publish fails with a [synclayer.Permanent] error for an event that cannot
// be encoded, and with the Redis error otherwise. Subscribe retries failing
// Redis calls with a growing wait and returns an error when they keep
// failing for a minute; [ErrDeadLetter] is logged when a dead letter cannot
// be written (the entry then stays pending and is tried again).
package redisstream
