package outbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus"
)

// row is one claimed event.
type row struct {
	id      int64
	created int64
	ev      synclayer.Event
	err     error // decoding or publishing failed
	late    bool  // not published: claimed too long ago
}

// Relay publishes the outbox's committed events to pub until ctx ends,
// then gives up its claims and returns nil. Run any number of relays, in
// one process or many: each event is claimed by one relay at a time, and
// one that dies loses its claims after the lease ([WithLease]).
//
// A relay is a pipeline of three stages, each with one batch in hand: one
// claims the oldest unpublished event of up to [WithBatch] subjects, one
// publishes a claimed batch (with one PublishBatch when pub is a
// [bus.BatchPublisher], which may report each event's failure
// apart, else with concurrent Publish calls), one deletes the events pub
// accepted and gives back those it refused. While a batch is in the
// pipeline its rows are leased, so no later event of its subjects is
// claimed until it is deleted. An event pub refused is claimed and tried
// again, no sooner than a quarter of the lease later and then after
// longer waits the older it is (half its age, at most four leases), while
// the events of other subjects go on; the relay also pauses, longer each
// time, while nothing gets through (as during a broker outage). The later
// events of its subject wait for it. Every
// committed event is published at least once: pub must deduplicate by
// event ID where a duplicate matters (bus/nats does, with the JetStream
// message id).
func (o *Outbox) Relay(ctx context.Context, pub synclayer.Publisher) error {
	if pub == nil {
		return fmt.Errorf("%w: Relay needs a Publisher", ErrConfig)
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	r := &relay{o: o, pub: pub, owner: hex.EncodeToString(tok[:]), wake: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	if o.listens {
		lctx, stop := context.WithCancel(ctx)
		wg.Go(func() { o.listen(lctx, r.wake) })
		defer func() {
			stop()
			wg.Wait()
		}()
	}
	claimed := make(chan batch) // unbuffered: a batch waits for its publication at most once
	published := make(chan []row)
	var stages sync.WaitGroup
	stages.Go(func() {
		defer close(claimed)
		r.claimStage(ctx, claimed)
	})
	stages.Go(func() {
		defer close(published)
		r.publishStage(ctx, claimed, published)
	})
	r.finishStage(ctx, published)
	stages.Wait()
	return nil
}

// batch is a claim's rows and when the claim was sent, from which their
// lease counts at the latest.
type batch struct {
	rows []row
	at   time.Time
}

// errLate marks the rows of a batch that waited too long to be published.
var errLate = errors.New("outbox: claimed batch waited past a third of its lease; given back unpublished")

// relay is one run of Relay.
type relay struct {
	o     *Outbox
	pub   synclayer.Publisher
	owner string
	wake  chan struct{}
}

func (r *relay) warn(what string, err error) {
	if r.o.log != nil {
		r.o.log.Warn("outbox: relay: "+what, "table", r.o.table, "error", err)
	}
}

const minPause, maxPause = 20 * time.Millisecond, 5 * time.Second

// pauseCap is the longest pause of the claim and publish stages: 5s, or
// a quarter of the lease if that is shorter.
func (r *relay) pauseCap() time.Duration { return min(maxPause, r.o.lease/4) }

// claimStage claims batches until ctx ends. It waits for news only when a
// claim found nothing: a notification, the poll interval, or the finish
// stage's word that it deleted events (which makes their subjects' next
// events eligible).
//
// A claim is not cut short when ctx ends: the database could still
// commit a claim the relay no longer reads, and its rows, and the later
// events of their subjects, would wait for the lease to end. A batch
// claimed after ctx ended goes down the pipeline like any other, fails to
// publish at once, and is given back.
func (r *relay) claimStage(ctx context.Context, out chan<- batch) {
	pause := time.Duration(0)
	for ctx.Err() == nil {
		at := time.Now()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.lease/3)
		rows, err := r.o.claimRows(cctx, r.owner)
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.warn("claim", err)
			}
			pause = min(max(2*pause, minPause), r.pauseCap())
			sleep(ctx, pause, nil)
		case len(rows) == 0:
			pause = 0
			sleep(ctx, r.o.poll, r.wake)
		default:
			pause = 0
			// This waits while the publish stage publishes the previous
			// batch (a third of the lease at most) and pauses (a quarter
			// of it at most); the publish stage gives the batch back
			// unpublished if its lease may not outlast the publication.
			out <- batch{rows, at}
		}
	}
}

// publishStage publishes each claimed batch and passes it on. When nothing
// of a batch got through it passes it on and pauses, longer each time (up
// to a quarter of the lease), before it takes the next batch.
//
// A batch claimed more than a third of the lease ago (it waited for the
// previous batch's publication and pause) is passed on unpublished, to be
// given back at once: its publication, up to a third of the lease, and its
// delete must end while its lease lasts, or another relay could claim and
// publish its events meanwhile.
func (r *relay) publishStage(ctx context.Context, in <-chan batch, out chan<- []row) {
	pause := time.Duration(0)
	for b := range in {
		if time.Since(b.at) > r.o.lease/3 {
			for i := range b.rows {
				b.rows[i].err, b.rows[i].late = errLate, true
			}
			out <- b.rows
			continue
		}
		if r.publish(ctx, b.rows) == 0 && ctx.Err() == nil {
			out <- b.rows
			pause = min(max(2*pause, minPause), r.pauseCap())
			sleep(ctx, pause, nil)
			continue
		}
		pause = 0
		out <- b.rows
	}
}

// finishStage deletes the published events of each batch and gives back
// the others. It runs until the publish stage ends, and finishes its
// batches even after ctx ended: their events went out.
//
// An event that was refused (or did not decode) is given back leased to
// nobody for a while (see [Outbox.minWait]), not at once: claims take the
// oldest free events first, and refused events given back at once would
// be claimed again before any newer event, so that as many refused
// events of different subjects as a batch holds would keep every other
// subject waiting. Meanwhile the later events of its subject still wait
// behind it.
func (r *relay) finishStage(ctx context.Context, in <-chan []row) {
	fctx := context.WithoutCancel(ctx)
	for rows := range in {
		var sent, late, failed []int64
		for _, rw := range rows {
			switch {
			case rw.err == nil:
				sent = append(sent, rw.id)
			case rw.late:
				late = append(late, rw.id)
			default:
				failed = append(failed, rw.id)
			}
		}
		if len(sent) > 0 {
			r.finish(ctx, fctx, "delete published events", r.o.remove, sent)
		}
		if len(late) > 0 {
			r.finish(ctx, fctx, "give back events claimed too long ago", r.o.release, late)
		}
		switch {
		case len(failed) == 0:
		case ctx.Err() != nil:
			// The relay is stopping: another may publish them at once.
			r.finish(ctx, fctx, "give back unpublished events", r.o.release, failed)
		default:
			r.finish(ctx, fctx, "give back refused events", r.o.refuse, failed)
		}
		notify(r.wake)
	}
}

// finish runs remove or release for ids, trying again while ctx lasts;
// after ctx ended it tries for a few seconds. If it never succeeds the
// events stay leased to this relay until the lease ends, and then another
// claim publishes the deleted ones again.
func (r *relay) finish(ctx, fctx context.Context, what, stmt string, ids []int64) {
	pause := time.Duration(0)
	for {
		dctx, cancel := context.WithTimeout(fctx, 5*time.Second)
		err := r.o.retry(dctx, func() error { return r.o.execIDs(dctx, stmt, r.owner, ids) })
		cancel()
		if err == nil {
			return
		}
		r.warn(what, err)
		if ctx.Err() != nil {
			return
		}
		pause = min(max(2*pause, minPause), maxPause)
		sleep(ctx, pause, nil)
	}
}

// publish publishes rows (they have different subjects), marks those that
// failed, and returns how many went out: with one PublishBatch when the
// publisher is a [bus.BatchPublisher], else with concurrent
// Publish calls. It gives up on a publish after a third of the lease, so
// that the batch is finished while its lease lasts.
func (r *relay) publish(ctx context.Context, rows []row) int {
	pctx, cancel := context.WithTimeout(ctx, r.o.lease/3)
	defer cancel()
	if bp, ok := r.pub.(bus.BatchPublisher); ok {
		r.publishBatch(pctx, bp, rows)
	} else {
		var wg sync.WaitGroup
		for i := range rows {
			if rows[i].err != nil {
				continue
			}
			wg.Go(func() {
				if err := r.pub.Publish(pctx, rows[i].ev); err != nil {
					rows[i].err = err
				}
			})
		}
		wg.Wait()
	}
	n := 0
	for _, rw := range rows {
		if rw.err == nil {
			n++
		} else if ctx.Err() == nil {
			r.warn(fmt.Sprintf("publish event %q (%s)", rw.ev.ID, rw.ev.Type), rw.err)
		}
	}
	return n
}

// publishBatch publishes the rows that decoded with one PublishBatch and
// marks those it reports as failed; an error that is not a
// [bus.BatchError] of the batch's length marks them all.
func (r *relay) publishBatch(ctx context.Context, bp bus.BatchPublisher, rows []row) {
	idx := make([]int, 0, len(rows))
	evs := make([]synclayer.Event, 0, len(rows))
	for i, rw := range rows {
		if rw.err == nil {
			idx = append(idx, i)
			evs = append(evs, rw.ev)
		}
	}
	if len(evs) == 0 {
		return
	}
	err := bp.PublishBatch(ctx, evs)
	if err == nil {
		return
	}
	var be *bus.BatchError
	if errors.As(err, &be) && len(be.Errs) == len(evs) {
		for j, e := range be.Errs {
			if e != nil {
				rows[idx[j]].err = e
			}
		}
		return
	}
	for _, i := range idx {
		rows[i].err = err
	}
}

// minWait and maxWait bound how long an event that was refused or did not
// decode waits before it can be claimed again: half its age, at least a
// quarter of the lease, at most four leases. That it grows with the age
// keeps any number of events that are always refused from filling the
// claims for good; the bound keeps the wait after an outage short.
func (o *Outbox) minWait() time.Duration { return o.lease / 4 }
func (o *Outbox) maxWait() time.Duration { return 4 * o.lease }

// execIDs runs remove, release or refuse for owner's rows among ids.
func (o *Outbox) execIDs(ctx context.Context, stmt, owner string, ids []int64) error {
	if o.d.deleteArray {
		return o.exec(ctx, stmt, owner, ids)
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, owner)
	for _, id := range ids {
		args = append(args, id)
	}
	return o.exec(ctx, list(stmt, len(ids)), args...)
}

// claimRows leases up to a batch of events, the oldest unpublished one of
// each subject whose lease is free, to owner, and returns them in id
// order.
func (o *Outbox) claimRows(ctx context.Context, owner string) ([]row, error) {
	var rows []row
	ttl := o.lease.Milliseconds()
	err := o.retry(ctx, func() error {
		rows = rows[:0]
		if o.claim != "" {
			rs, err := o.db.QueryContext(ctx, o.claim, ttl, owner, o.batch)
			if err != nil {
				return err
			}
			rows, err = scanRows(rs, rows)
			return err
		}
		return o.claimInTx(ctx, owner, ttl, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: claim %s: %w", o.table, err)
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	return rows, nil
}

// claimInTx claims in three steps in one READ COMMITTED transaction (for
// MariaDB, which cannot update a table through a subquery on itself): find
// the candidates without locking, lock those still unclaimed skipping any
// another relay is locking, and lease them.
func (o *Outbox) claimInTx(ctx context.Context, owner string, ttl int64, out *[]row) error {
	tx, err := o.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rs, err := tx.QueryContext(ctx, o.candidates, o.batch)
	if err != nil {
		return err
	}
	var ids []any
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rs.Close(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return tx.Commit()
	}
	rs, err = tx.QueryContext(ctx, list(o.lockRows, len(ids)), ids...)
	if err != nil {
		return err
	}
	if *out, err = scanRows(rs, *out); err != nil {
		return err
	}
	if len(*out) == 0 {
		return tx.Commit()
	}
	args := make([]any, 0, len(*out)+2)
	args = append(args, ttl, owner)
	for _, rw := range *out {
		args = append(args, rw.id)
	}
	if _, err := tx.ExecContext(ctx, list(o.setLease, len(*out)), args...); err != nil {
		return err
	}
	return tx.Commit()
}

// scanRows reads (id, event, created_ms) rows and closes rs. An event that
// does not decode is kept with its error: it is reported, never published
// and never deleted.
func scanRows(rs *sql.Rows, out []row) ([]row, error) {
	defer rs.Close()
	for rs.Next() {
		var rw row
		var body []byte
		if err := rs.Scan(&rw.id, &body, &rw.created); err != nil {
			return out, err
		}
		if err := json.Unmarshal(body, &rw.ev); err != nil {
			rw.err = fmt.Errorf("outbox: row %d: decode event: %w", rw.id, err)
		}
		out = append(out, rw)
	}
	return out, rs.Err()
}

// retry runs f again, a few times, after errors that rolled the statement
// back (deadlock, busy database).
func (o *Outbox) retry(ctx context.Context, f func() error) error {
	for i := 0; ; i++ {
		err := f()
		if err == nil || i >= 8 || !o.d.retryable(err) || ctx.Err() != nil {
			return err
		}
		sleep(ctx, time.Duration(1<<i)*time.Millisecond, nil)
	}
}

// sleep waits for d, for ctx to end or for a value on wake (nil: none).
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// exec runs one statement that changes the relay's own rows. On MariaDB it
// runs in a READ COMMITTED transaction: under the default REPEATABLE READ
// InnoDB would lock every row the statement scans, and wait for rows that
// open transactions have inserted but not committed.
func (o *Outbox) exec(ctx context.Context, query string, args ...any) error {
	if o.name != MariaDB {
		_, err := o.db.ExecContext(ctx, query, args...)
		return err
	}
	tx, err := o.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	return tx.Commit()
}
