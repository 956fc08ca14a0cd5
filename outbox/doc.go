// Package outbox is a transactional outbox: a publisher writes its domain
// events into a table of its own database, in the same transaction as the
// change they describe, and a relay publishes the committed ones to a bus.
// So a committed change always reaches the partners, and a rolled-back one
// never does:
//
//	tx, _ := db.BeginTx(ctx, nil)
//	// ... change the workflow's rows ...
//	ob.Write(ctx, tx, synclayer.Event{ID: id, Type: "WorkflowDeployed", Subject: "WF-123", Data: data})
//	tx.Commit()
//
// and, in the same process or another, go ob.Relay(ctx, bus).
//
// It runs on database/sql with PostgreSQL (driver pgx), MariaDB (driver
// mysql) and SQLite (driver sqlite of modernc.org/sqlite); see [Dialect].
// [Outbox.Write] adds any number of events with one statement. The table
// holds only events not yet published: the relay deletes each event once
// the bus has accepted it, so it does not grow beyond the backlog, which
// [Outbox.Backlog] reports (count and age of the oldest).
//
// # Configuration
//
// [New] takes the database, the [Dialect] and the table, and options:
// [WithBatch] (events per relay round), [WithLease] (how long a claim
// lasts), [WithPollInterval], [WithLogger] and [WithoutNotify]. A zero
// value means the default; an invalid value (a negative number, a lease
// under 100ms) makes New return an error that names the option and wraps
// synclayer.ErrInvalidOption. Nothing panics.
//
// # What the relay guarantees, and why
//
// At least once. A relay claims events by a lease (a row's lease_until
// and owner), publishes them, and deletes a row only after the publisher
// accepted its event. A relay that dies before the delete leaves its claim
// to expire, and a relay publishes the event again. The bus deduplicates by
// event ID: bus/nats sets the JetStream message id to it, and the
// dispatcher's done-markers make a redelivery a no-op at the partners.
//
// Never skipped. Relays that remember how far they read ("every id above
// n") skip a row whose transaction commits after a row with a higher id was
// read: ids are handed out at insert, visibility comes at commit. This
// relay keeps no position. Every claim looks at all rows whose lease is
// free (in id order, for fairness), and a row stays in the table, and so
// eligible, until it is deleted after its publication. A row that becomes
// visible late is simply found by the next claim. Per dialect:
//   - PostgreSQL: one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
//     LOCKED) RETURNING claims. A row another relay is claiming at that
//     moment is locked and skipped; a row whose claim has committed is
//     re-checked on its newest version and has a live lease. Rows of open
//     transactions are invisible and never locked, so they delay nothing.
//   - MariaDB: the same in one READ COMMITTED transaction of three steps,
//     since MariaDB cannot update a table through a subquery on itself:
//     select the candidates without locking, lock those whose lease is
//     still free with FOR UPDATE SKIP LOCKED (which reads each row's newest
//     committed version), and lease them. The statements that touch known
//     rows use the primary key only, so they never wait for the rows of
//     open transactions.
//   - SQLite: one UPDATE ... RETURNING. SQLite has a single writer, so a
//     claim never overlaps another, and rows commit in id order anyway.
//
// Order per subject. Events with the same Subject (the aggregate) are
// published in the order of their rows' ids, one at a time: a row is
// eligible only if it is the oldest row of its subject in the table (its
// id is the subject's MIN(id): no older row of the subject exists, which
// the (subject, id) index answers), so
// the next event of a subject is claimed only after the previous one was
// published and deleted, by whichever relay. Every relay applies the same rule, so
// several relays keep it as one does. The order of the ids is the commit
// order of the transactions that wrote them whenever those transactions
// are serialised on the aggregate, which they are when each changes the
// aggregate's row before writing its events (the row lock holds the second
// writer until the first commits), and always on SQLite. Two transactions
// on one aggregate that are not serialised have no commit order that the
// database records; then the one whose row becomes visible first is
// published first, which is its commit order too, unless both have
// committed before a relay looks. Within one Write, events keep the order
// given. The order is that of first publication: a second publication
// after a lease expired mid-publish can follow a later event, and the bus's
// ID deduplication drops it.
//
// An event the publisher refuses (or that does not decode) stays in the
// outbox: it is given back leased to nobody for half its age (at least a
// quarter of the lease, at most four leases; the age counts from the
// writer's clock to the database's) and then claimed again, by this relay
// or another. Meanwhile claims take the events of other subjects, so
// refused events never hold up other subjects for good; the later events
// of its subject wait behind it, and Backlog shows its age. While nothing
// gets through at all (a broker outage) the relay also pauses, longer
// each time. An event never leaves the outbox unpublished. A publish is given up after a third of the lease,
// and a claimed batch that waited more than a third of its lease to be
// published (behind the previous batch's publication and pause; the
// pause is at most a quarter of the lease) is given back unpublished, so
// a batch is normally deleted or given back while its lease lasts.
//
// # Waking up
//
// On PostgreSQL with the pgx driver, the table has a trigger that
// notifies a channel named after it on every insert; notifications are
// delivered at commit, and a relay LISTENs on one connection of the pool
// (so give the pool at least two) and claims at once. It still polls
// ([WithPollInterval], 1s by default) in case a notification is lost.
// Elsewhere, a relay polls (100ms by default).
//
// # Throughput
//
// A relay claims, publishes and deletes in three concurrent stages, one
// batch each; it claims again at once after a claim that found events,
// and after each delete (the next events of those subjects have just
// become eligible); it waits only after a claim that found nothing. A batch goes to the bus in
// one call when the publisher implements [bus.BatchPublisher]
// (bus/nats does, with asynchronous JetStream publishes), and the relay
// gives back just the events the batch reports as failed. On PostgreSQL
// the relay's own statements (claim, delete, give back) commit with
// synchronous_commit off, so they do not wait for the disk: a server
// crash can lose the last of them, which means a lease lost early or an
// event published again, both within the at-least-once guarantee; and the
// table is created with fillfactor 50, so a lease is set and given back
// within its row's page. [Outbox.Write] encodes its events without
// reflection, into one buffer per call.
package outbox
