package nats

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream counts every delivery of a message, deferrals included. The
// bus keeps, for each message its handler deferred with synclayer.Redeliver,
// the number of deferrals in the stream itself: a small message on
// DeferralSubject(seq) whose data is the count. Any process of the group
// reads it back when the message is redelivered, and it is purged once the
// message is acknowledged or dead-lettered. When the stream does not take
// that subject (an existing stream that captures only some subjects), the
// count is kept in this process instead (localDeferrals).

// deferralTimeout bounds each read or write of a deferral count; when the
// connection is down they are skipped.
const deferralTimeout = 2 * time.Second

// deferrals returns how many deliveries of the message with stream
// sequence seq were deferred.
func (b *Bus) deferrals(ctx context.Context, seq uint64) int {
	if seq == 0 {
		return 0
	}
	local := b.deferred.count(seq)
	if !b.js.Conn().IsConnected() {
		return local
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deferralTimeout)
	defer cancel()
	m, err := b.st.GetLastMsgForSubject(ctx, b.DeferralSubject(seq))
	if err != nil {
		if !errors.Is(err, jetstream.ErrMsgNotFound) && b.cfg.Logger != nil {
			b.cfg.Logger.Warn("nats: could not read a message's deferrals; using this process's count", "seq", seq, "err", err)
		}
		return local
	}
	n, err := strconv.Atoi(string(m.Data))
	if err != nil || n < 0 {
		return local
	}
	return max(n, local)
}

// deferral records that the message with stream sequence seq has now been
// deferred n times.
func (b *Bus) deferral(seq uint64, n int) {
	if seq == 0 {
		return
	}
	b.deferred.set(seq, n)
	if !b.js.Conn().IsConnected() {
		return // the broker redelivers later; this process still counts it
	}
	ctx, cancel := context.WithTimeout(context.Background(), deferralTimeout)
	defer cancel()
	msg := &natsgo.Msg{Subject: b.DeferralSubject(seq), Data: []byte(strconv.Itoa(n))}
	_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID("deferral-"+b.cfg.Group+"-"+strconv.FormatUint(seq, 10)+"-"+strconv.Itoa(n)))
	if err != nil && b.cfg.Logger != nil {
		b.cfg.Logger.Warn("nats: could not record a deferral in the stream; only this process counts it", "seq", seq, "err", err)
	}
}

// settled drops the deferrals recorded for seq once its message is
// acknowledged or dead-lettered; deferred is how many there were.
func (b *Bus) settled(seq uint64, deferred int) {
	b.deferred.forget(seq)
	if seq == 0 || deferred == 0 || !b.js.Conn().IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deferralTimeout)
	defer cancel()
	if err := b.st.Purge(ctx, jetstream.WithPurgeSubject(b.DeferralSubject(seq))); err != nil && b.cfg.Logger != nil {
		b.cfg.Logger.Warn("nats: could not purge a settled message's deferrals", "seq", seq, "err", err)
	}
}

// maxLocalDeferred bounds how many messages a bus counts deferrals for in
// its own process.
const maxLocalDeferred = 100_000

// localDeferrals counts deferrals per stream sequence in this process,
// for when the stream cannot hold them. Past maxLocalDeferred messages,
// the oldest are forgotten first.
type localDeferrals struct {
	mu    sync.Mutex
	n     map[uint64]int
	order []uint64 // insertion order, for eviction; may hold forgotten ones
}

func (d *localDeferrals) set(seq uint64, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = make(map[uint64]int)
	}
	if _, ok := d.n[seq]; !ok {
		d.order = append(d.order, seq)
	}
	d.n[seq] = n
	for len(d.n) > maxLocalDeferred {
		delete(d.n, d.order[0]) // a no-op when it was forgotten already
		d.order = d.order[1:]
	}
	if len(d.order) > 2*maxLocalDeferred {
		d.order = slices.DeleteFunc(d.order, func(s uint64) bool { _, ok := d.n[s]; return !ok })
	}
}

func (d *localDeferrals) count(seq uint64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[seq]
}

func (d *localDeferrals) forget(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.n) == 0 {
		return
	}
	delete(d.n, seq)
	if len(d.n) == 0 {
		d.order = d.order[:0]
	}
}
