// Package kafka is a synclayer bus on Apache Kafka (with
// github.com/twmb/franz-go): a [synclayer.Publisher] and
// [synclayer.Subscriber] that let several instances of a service share the
// events through a consumer group.
//
// # Configuration
//
// [NewBus] takes the seed brokers and a topic prefix; franz-go options
// (SASL, TLS, timeouts) are added with [WithClientOptions]. Topics, created
// by the brokers on first use when they allow it (or by you beforehand):
//
//   - "<prefix>.event.<type>": the events of one type. Publish keys each
//     record by the event's Subject, or its ID when it has none, so the
//     events of one subject stay in one partition, in order;
//   - "<prefix>.retry.<group>.<type>": the group's redeliveries;
//   - "<prefix>.deadletter": the dead letters.
//
// Every [Bus.Subscribe] is a member of the consumer group [WithGroup]
// (default "synclayer"), consuming the event and retry topics of its types:
// the group's members share the partitions.
//
// Each option's doc gives its default. A zero value given to an option means
// that default; a value the option cannot take makes [NewBus] fail with an
// error wrapping [synclayer.ErrInvalidOption] that names the option.
//
// # Delivery semantics
//
// Delivery is at least once. Each partition's records are handled one at a
// time, in order, and up to [WithConcurrency] partitions at once; offsets
// are committed only after the handlers of a polled batch are done:
//
//   - a handler's nil lets the offset be committed;
//   - a handler's error produces a copy to the group's retry topic, with
//     the delivery count ("synclayer-deliveries") and the time before which
//     it is not handled ("synclayer-not-before": now plus
//     [WithRedeliveryDelay], doubled for every delivery); the retry topic's
//     partitions wait for that time, so a retry may wait behind an older
//     one;
//   - a [synclayer.IsPermanent] error, or an error on the last of
//     [WithMaxDeliveries] deliveries, produces a copy to the dead-letter
//     topic with the reason ("synclayer-reason") and the source topic;
//   - an error marked with [synclayer.Redeliver] (the event came too
//     early) produces a copy to the retry topic too, not before now plus
//     the delay it asks for, keeping the delivery count of the original:
//     deferrals never count toward the limit. They are counted apart in
//     "synclayer-deferrals". The counts travel in the record, so this
//     holds across members and restarts; a deferred record may wait behind
//     an older retry in its partition;
//   - a record that is not a valid CloudEvent is dead-lettered at once.
//
// A record waiting for its not-before time stalls only its own partition.
// The member keeps in memory the waiting record and those it polled behind
// it in the same poll, pauses fetching that partition, commits nothing of
// it from that record on, and goes on polling and handling its other
// partitions, event topics included; when the time comes, it handles the
// records it kept, in order, and fetches the partition again from after
// them. (A member polls up to 4 times [WithConcurrency] records at a time,
// across its partitions, and commits what their handlers finished before
// it polls again: a slow handler holds up the next poll, a waiting record
// does not.) Releasing a partition leaves what the member fetched of its
// other partitions alone; only the records of the paused partition that
// it fetched but did not keep are fetched again. The partition is in the
// next fetch to its broker, once the one in flight ends: on a quiet
// cluster, up to [DefaultFetchMaxWait] later, unless [WithClientOptions]
// sets kgo.FetchMaxWait. A member that loses a waiting partition in a
// rebalance forgets the records it kept and commits none of them; it
// unpauses the partition, so that should it get the partition back it
// fetches it from the committed offset. The member that takes it over
// fetches it from there too: the waiting record, which waits there again.
// Waits hold up no rebalance. Only a record of a retry topic waits: a
// not-before header on an event topic is ignored. The records kept are at
// most 4 times [WithConcurrency] per waiting partition, held until the
// wait ends (a retry's delay, or a deferral's); each keeps the fetched
// batch it came in alive, so size WithConcurrency and the fetch limits
// (kgo.FetchMaxPartitionBytes) with that in mind.
//
// A member that dies before committing leaves its records to the member
// that takes its partitions, which delivers them again (not counted). That
// happens once the group notices the member is gone: at once when a member
// leaves cleanly (Subscribe leaves the group when it returns), and after
// the session timeout for a member that died ([DefaultSessionTimeout],
// 10s, unless [WithClientOptions] sets kgo.SessionTimeout; brokers refuse
// values outside their group.min/max.session.timeout.ms). Handlers do not
// hold up the group heartbeats, so a long handler does not lose its
// partitions.
//
// The wire format is CloudEvents 1.0 in structured JSON mode; binary mode
// (ce_ headers, as the Kafka binding of CloudEvents writes them) is
// accepted on receive.
//
// # Shutdown
//
// Cancelling a Subscribe's context stops it: it commits what its handlers
// finished and leaves the group at once, so the other members take its
// partitions without waiting for the session timeout. [Bus.Close] stops
// every Subscribe of the bus more gently: they poll no new record, and the
// handlers in flight may finish (and publish) until Close's context ends;
// then it closes the producer. A handler whose context ended before it
// returned and that then fails (with anything but a [synclayer.Permanent]
// error, which still dead-letters at once) leaves its record uncommitted,
// as are the records after it in its partition: the group delivers it
// again with the count it came with, so even on its last allowed delivery
// the event is not dead-lettered. The bus makes every franz-go client it
// uses and closes each itself.
//
// # Errors
//
// Publish fails with a [synclayer.Permanent] error for an event that cannot
// be sent at all (a type that cannot be part of a topic name:
// [ErrInvalidType]; no ID or type; data that is not JSON), and with the
// client's error otherwise. Subscribe returns an error wrapping
// [ErrProduce] when a retry or dead letter cannot be produced: it then
// stops without committing the record, which the group delivers again.
package kafka
