package synclayertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
)

// Bus is what a bus adapter offers: a publisher and a subscriber over the
// same broker.
type Bus interface {
	synclayer.Publisher
	synclayer.Subscriber
}

// BusConfig is what [TestBus] asks of each fresh bus.
type BusConfig struct {
	// Name is unique to this bus (it holds a random part). Use it in every
	// name the bus creates on the broker: stream, queue, topic, group.
	Name string
	// MaxDeliveries is how many times an event is delivered before the bus
	// dead-letters it.
	MaxDeliveries int
	// RedeliveryDelay is the wait before the first redelivery of an event
	// whose handler failed. Later redeliveries may wait longer.
	RedeliveryDelay time.Duration
}

// BusFixture is one bus under test, made by the function given to
// [TestBus].
type BusFixture struct {
	// Bus is the publisher and subscriber. Every Subscribe call on it joins
	// one consumer group: each event goes to one of the subscribers.
	Bus Bus
	// DeadLetters returns the events the bus has dead-lettered so far.
	// Required.
	DeadLetters func(ctx context.Context) ([]DeadLetter, error)
	// CutConnection, when the broker lets a test do so, drops the bus's
	// connections to the broker as a broker restart would; the bus is
	// expected to reconnect by itself. Nil skips the reconnection rule.
	CutConnection func(ctx context.Context) error
}

// DeadLetter is an event a bus gave up on, as [BusFixture.DeadLetters]
// reports it.
type DeadLetter struct {
	Event      synclayer.Event
	Err        string // the handler's last error, as the bus recorded it
	Deliveries int    // how many times the event was delivered, deferrals (synclayer.Redeliver) left out
}

// Settings of the bus suite.
const (
	busMaxDeliveries   = 3
	busRedeliveryDelay = 50 * time.Millisecond
	busRuleTimeout     = 30 * time.Second
	busEventType       = "BusTestEvent"
	busOtherType       = "BusTestOther"
)

// TestBus runs the conformance suite for a bus adapter. newBus returns a
// fresh, isolated bus configured as cfg says, and registers its own
// cleanup (deleting what it created on the broker) with t.Cleanup. It is
// called once per rule.
//
// The rules, one subtest each:
//
//   - PublishReceive: an event published is delivered to a subscriber of
//     its type with every field intact (ID, Type, Source, Subject, Time,
//     Data, Meta); an event of a type nobody subscribed to is not.
//   - PublishBatch (only when the bus is a bus.BatchPublisher): the
//     events of one PublishBatch call are each delivered once, intact, and
//     PublishBatch of no events returns nil. (The order within the batch
//     cannot be seen through concurrent handlers; a bus tests it itself.)
//   - RetryThenAck: a handler error redelivers the event; a later success
//     acknowledges it, after which it is not delivered again and not
//     dead-lettered.
//   - PermanentDeadLetters: a handler error marked synclayer.Permanent
//     dead-letters the event after one delivery, with the error's text.
//   - MaxDeliveries: an event whose handler never succeeds is delivered
//     exactly cfg.MaxDeliveries times, then dead-lettered with the last
//     error and the delivery count.
//   - RedeliverUncounted: a handler error marked with synclayer.Redeliver
//     (the event came too early) is redelivered after about the asked
//     delay without counting toward cfg.MaxDeliveries: an event deferred
//     more times than that limit is still delivered again, then
//     acknowledged, and never dead-lettered.
//   - RedeliverThenFail: deferrals do not hide real failures: an event
//     deferred twice whose handler then fails with plain errors is
//     dead-lettered after exactly cfg.MaxDeliveries failed deliveries, and
//     the dead letter counts those, not the deferrals.
//   - SharedGroup: two subscribers of one bus share the events: every event
//     is acknowledged, none is lost, both subscribers handle some (more
//     events are published while one has none yet, as a rebalance may take
//     a moment), and no event is in two handlers at once.
//   - StoppedSubscriber: a subscriber whose context ends while its handler
//     holds an event leaves the event to be redelivered to the other
//     subscriber. The handler's context must end with Subscribe's: the
//     handler waits for that, then returns the context's error.
//   - SubscribeReturns: Subscribe returns once its context ends, and not
//     before the handler call in flight has returned.
//   - Reconnect: after the connection to the broker is cut, publishing and
//     receiving work again (only when CutConnection is set).
//   - Close (only when the bus has a Close(context.Context) error method):
//     Close lets the handler call in flight finish with its context intact,
//     returns nil once it has, after which Subscribe has returned nil and
//     Publish fails; a second Close returns nil too.
//   - Dispatcher: a synclayer.Dispatcher running on the bus pushes every
//     event to a connector, and a permanently failing event is
//     dead-lettered.
//
// Events of the suite are published with the type "BusTestEvent" (and
// "BusTestOther" for the unsubscribed type); before checking a rule, the
// suite publishes warm-up events until its first subscriber receives one,
// so brokers that only keep events for existing queues lose nothing.
func TestBus(t *testing.T, newBus func(t *testing.T, cfg BusConfig) BusFixture) {
	t.Helper()
	rules := []struct {
		name string
		fn   func(*testing.T, *busRun)
	}{
		{"PublishReceive", testPublishReceive},
		{"PublishBatch", testPublishBatch},
		{"RetryThenAck", testRetryThenAck},
		{"PermanentDeadLetters", testPermanentDeadLetters},
		{"MaxDeliveries", testMaxDeliveries},
		{"RedeliverUncounted", testRedeliverUncounted},
		{"RedeliverThenFail", testRedeliverThenFail},
		{"SharedGroup", testSharedGroup},
		{"StoppedSubscriber", testStoppedSubscriber},
		{"SubscribeReturns", testSubscribeReturns},
		{"Reconnect", testReconnect},
		{"Close", testClose},
		{"Dispatcher", testBusDispatcher},
	}
	run := suiteRunner(t, "", func(t *testing.T, _ string) *busRun {
		cfg := BusConfig{
			Name:            "sltest-" + strings.ToLower(path.Base(t.Name())) + "-" + randomHex(6),
			MaxDeliveries:   busMaxDeliveries,
			RedeliveryDelay: busRedeliveryDelay,
		}
		fx := newBus(t, cfg)
		if fx.Bus == nil || fx.DeadLetters == nil {
			t.Fatal("synclayertest: newBus returned a fixture without Bus or DeadLetters")
		}
		ctx, cancel := context.WithTimeout(t.Context(), busRuleTimeout)
		t.Cleanup(cancel)
		return &busRun{t: t, ctx: ctx, cfg: cfg, fx: fx}
	})
	for _, r := range rules {
		run(r.name, r.fn)
	}
}

// busRun is the state of one rule.
type busRun struct {
	t     *testing.T
	ctx   context.Context // ends at the rule's deadline
	cfg   BusConfig
	fx    BusFixture
	seq   int
	mu    sync.Mutex
	warms map[string]bool // warm-up ids seen, by subscriber name
}

// event returns a new event with a unique id.
func (r *busRun) event(typ string) synclayer.Event {
	r.seq++
	return synclayer.Event{
		ID:      fmt.Sprintf("%s-%d", r.cfg.Name, r.seq),
		Type:    typ,
		Source:  "synclayertest",
		Subject: fmt.Sprintf("subject-%d", r.seq),
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Data:    json.RawMessage(fmt.Sprintf(`{"n":%d,"text":"caf\u00e9 \"q\""}`, r.seq)),
		Meta:    map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "correlation-id": fmt.Sprint("c", r.seq)},
	}
}

func (r *busRun) publish(evs ...synclayer.Event) {
	r.t.Helper()
	for _, ev := range evs {
		if err := r.fx.Bus.Publish(r.ctx, ev); err != nil {
			r.t.Fatalf("Publish(%s): %v", ev.ID, err)
		}
	}
}

const warmupMark = "-warmup-"

// subscription is a running Subscribe call.
type subscription struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Subscribe returned
	err    error         // what it returned, once done is closed
}

// stop cancels the subscription and waits for Subscribe to return.
func (s *subscription) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		return s.err
	case <-time.After(busRuleTimeout):
		t.Fatal("Subscribe did not return within the rule's timeout after its context ended")
		return nil
	}
}

// subscribe starts Subscribe for the suite's event type. Warm-up events
// are acknowledged without reaching h. With warm set, it publishes warm-up
// events until this subscriber has received one.
func (r *busRun) subscribe(name string, warm bool, h func(context.Context, synclayer.Event) error) *subscription {
	r.t.Helper()
	ctx, cancel := context.WithCancel(r.ctx)
	s := &subscription{cancel: cancel, done: make(chan struct{})}
	wrapped := func(ctx context.Context, ev synclayer.Event) error {
		if strings.Contains(ev.ID, warmupMark) {
			r.mu.Lock()
			if r.warms == nil {
				r.warms = make(map[string]bool)
			}
			r.warms[name] = true
			r.mu.Unlock()
			return nil
		}
		return h(ctx, ev)
	}
	go func() {
		s.err = r.fx.Bus.Subscribe(ctx, []string{busEventType}, wrapped)
		close(s.done)
	}()
	r.t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(busRuleTimeout):
			r.t.Errorf("subscriber %s: Subscribe did not return after its context ended", name)
		}
	})
	if !warm {
		return s
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		ev := synclayer.Event{ID: fmt.Sprintf("%s%s%s-%d", r.cfg.Name, warmupMark, name, i), Type: busEventType}
		if err := r.fx.Bus.Publish(r.ctx, ev); err != nil {
			r.t.Fatalf("publish warm-up event: %v", err)
		}
		select {
		case <-s.done:
			r.t.Fatalf("subscriber %s: Subscribe returned early: %v", name, s.err)
		case <-r.ctx.Done():
			r.t.Fatalf("subscriber %s never received a warm-up event", name)
		case <-tick.C:
		}
		r.mu.Lock()
		ok := r.warms[name]
		r.mu.Unlock()
		if ok {
			return s
		}
	}
}

// waitFor polls cond until it holds or the rule's deadline passes.
func (r *busRun) waitFor(what string, cond func() bool) {
	r.t.Helper()
	for !cond() {
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// settle waits long enough for any pending redelivery of the suite's
// events to have happened (several redelivery delays), then returns. It is
// used only before checking that something did NOT happen.
func (r *busRun) settle() {
	select {
	case <-time.After(10*r.cfg.RedeliveryDelay + 500*time.Millisecond):
	case <-r.ctx.Done():
	}
}

// publishUntil publishes an event and waits until the handler says, on
// entered, that it holds it.
func (r *busRun) publishUntil(entered <-chan struct{}) {
	r.t.Helper()
	r.publish(r.event(busEventType))
	select {
	case <-entered:
	case <-r.ctx.Done():
		r.t.Fatal("the event never reached the handler")
	}
}

// onlyDeadLetter publishes ev, waits for the bus to dead-letter it and to
// settle, and returns the one dead letter there is then.
func (r *busRun) onlyDeadLetter(ev synclayer.Event) DeadLetter {
	r.t.Helper()
	r.publish(ev)
	r.waitFor("a dead letter", func() bool { return len(r.deadLetters()) > 0 })
	r.settle()
	dls := r.deadLetters()
	if len(dls) != 1 {
		r.t.Fatalf("got %d dead letters, want 1: %+v", len(dls), dls)
	}
	return dls[0]
}

func (r *busRun) deadLetters() []DeadLetter {
	r.t.Helper()
	dls, err := r.fx.DeadLetters(r.ctx)
	if err != nil {
		r.t.Fatalf("DeadLetters: %v", err)
	}
	var out []DeadLetter
	for _, dl := range dls {
		if !strings.Contains(dl.Event.ID, warmupMark) {
			out = append(out, dl)
		}
	}
	return out
}

// counter counts handler calls per event id.
type counter struct {
	mu       sync.Mutex
	calls    map[string]int
	acked    map[string]bool
	inflight map[string]int
	overlaps []string
}

func newCounter() *counter {
	return &counter{calls: map[string]int{}, acked: map[string]bool{}, inflight: map[string]int{}}
}

// enter records the start of a call and returns its delivery number.
func (c *counter) enter(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[id]++
	c.inflight[id]++
	if c.inflight[id] > 1 {
		c.overlaps = append(c.overlaps, id)
	}
	return c.calls[id]
}

func (c *counter) exit(id string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight[id]--
	if err == nil {
		c.acked[id] = true
	}
}

func (c *counter) get(id string) int {
	return locked(&c.mu, func() int { return c.calls[id] })
}

func (c *counter) ackedCount() int {
	return locked(&c.mu, func() int { return len(c.acked) })
}

func testPublishReceive(t *testing.T, r *busRun) {
	var mu sync.Mutex
	got := map[string]synclayer.Event{}
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got[ev.ID] = ev
		return nil
	})
	other := r.event(busOtherType)
	want := []synclayer.Event{r.event(busEventType), r.event(busEventType), r.event(busEventType)}
	want[2].Meta = nil
	want[2].Data = nil
	want[2].Time = time.Time{}
	r.publish(other)
	r.publish(want...)
	r.waitFor("the three events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, w := range want {
		if g, ok := got[w.ID]; !ok {
			t.Errorf("event %s not received", w.ID)
		} else if d := eventDiff(w, g); d != "" {
			t.Errorf("event %s changed on the way: %s", w.ID, d)
		}
	}
	if _, ok := got[other.ID]; ok {
		t.Errorf("event %s of type %s was delivered to a subscriber of %s only", other.ID, busOtherType, busEventType)
	}
	if len(got) != len(want) {
		t.Errorf("received %d events, want %d: %v", len(got), len(want), slicesOfKeys(got))
	}
}

func slicesOfKeys(m map[string]synclayer.Event) []string {
	var ks []string
	for k := range maps.Keys(m) {
		ks = append(ks, k)
	}
	return ks
}

// eventDiff describes how got differs from want.
func eventDiff(want, got synclayer.Event) string {
	var d []string
	if want.ID != got.ID {
		d = append(d, fmt.Sprintf("ID %q, want %q", got.ID, want.ID))
	}
	if want.Type != got.Type {
		d = append(d, fmt.Sprintf("Type %q, want %q", got.Type, want.Type))
	}
	if want.Source != got.Source {
		d = append(d, fmt.Sprintf("Source %q, want %q", got.Source, want.Source))
	}
	if want.Subject != got.Subject {
		d = append(d, fmt.Sprintf("Subject %q, want %q", got.Subject, want.Subject))
	}
	if !want.Time.Equal(got.Time) {
		d = append(d, fmt.Sprintf("Time %v, want %v", got.Time, want.Time))
	}
	if !jsonEqual(want.Data, got.Data) {
		d = append(d, fmt.Sprintf("Data %s, want %s", got.Data, want.Data))
	}
	if len(want.Meta) != 0 || len(got.Meta) != 0 {
		if !maps.Equal(want.Meta, got.Meta) {
			d = append(d, fmt.Sprintf("Meta %v, want %v", got.Meta, want.Meta))
		}
	}
	return strings.Join(d, "; ")
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func testRetryThenAck(t *testing.T, r *busRun) {
	ackAfter(t, r, r.cfg.MaxDeliveries-1, "failures", func(n int) error {
		return fmt.Errorf("synclayertest: delivery %d fails on purpose", n)
	})
}

// ackAfter publishes one event to a handler that returns errFor(n) for its
// first k deliveries (what they are, for messages) and then succeeds. The
// event must be acknowledged after exactly k+1 calls, with no dead letter.
func ackAfter(t *testing.T, r *busRun, k int, what string, errFor func(n int) error) {
	t.Helper()
	c := newCounter()
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		n := c.enter(ev.ID)
		var err error
		if n <= k {
			err = errFor(n)
		}
		c.exit(ev.ID, err)
		return err
	})
	ev := r.event(busEventType)
	r.publish(ev)
	r.waitFor("the event to be acknowledged after its "+what, func() bool { return c.ackedCount() == 1 })
	r.settle()
	if n := c.get(ev.ID); n != k+1 {
		t.Errorf("handler called %d times, want %d (%d %s, then one success)", n, k+1, k, what)
	}
	if dls := r.deadLetters(); len(dls) != 0 {
		t.Errorf("dead letters after %d %s and a success: %+v", k, what, dls)
	}
}

func testPermanentDeadLetters(t *testing.T, r *busRun) {
	c := newCounter()
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		c.enter(ev.ID)
		err := synclayer.Permanent(fmt.Errorf("synclayertest: event %s cannot be processed", ev.ID))
		c.exit(ev.ID, err)
		return err
	})
	ev := r.event(busEventType)
	dl := r.onlyDeadLetter(ev)
	if dl.Event.ID != ev.ID || dl.Event.Type != ev.Type || !jsonEqual(dl.Event.Data, ev.Data) {
		t.Errorf("dead letter holds %+v, want the event %s with its data", dl.Event, ev.ID)
	}
	if dl.Deliveries != 1 {
		t.Errorf("dead letter says %d deliveries, want 1", dl.Deliveries)
	}
	if want := "cannot be processed"; !strings.Contains(dl.Err, want) {
		t.Errorf("dead letter error %q does not contain %q", dl.Err, want)
	}
	if n := c.get(ev.ID); n != 1 {
		t.Errorf("handler called %d times, want 1 (a permanent error is not redelivered)", n)
	}
}

func testMaxDeliveries(t *testing.T, r *busRun) {
	c := newCounter()
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		n := c.enter(ev.ID)
		err := fmt.Errorf("synclayertest: boom %d", n)
		c.exit(ev.ID, err)
		return err
	})
	ev := r.event(busEventType)
	dl := r.onlyDeadLetter(ev)
	if dl.Event.ID != ev.ID {
		t.Errorf("dead letter holds event %q, want %q", dl.Event.ID, ev.ID)
	}
	max := r.cfg.MaxDeliveries
	if dl.Deliveries != max {
		t.Errorf("dead letter says %d deliveries, want %d", dl.Deliveries, max)
	}
	if want := fmt.Sprintf("boom %d", max); !strings.Contains(dl.Err, want) {
		t.Errorf("dead letter error %q does not contain the last error %q", dl.Err, want)
	}
	if n := c.get(ev.ID); n != max {
		t.Errorf("handler called %d times, want exactly %d", n, max)
	}
}

func testSharedGroup(t *testing.T, r *busRun) {
	const n = 60
	c := newCounter()
	var mu sync.Mutex
	by := map[string]int{}
	h := func(name string) func(context.Context, synclayer.Event) error {
		return func(_ context.Context, ev synclayer.Event) error {
			c.enter(ev.ID)
			time.Sleep(5 * time.Millisecond) // some work, so both subscribers get a share
			mu.Lock()
			by[name]++
			mu.Unlock()
			c.exit(ev.ID, nil)
			return nil
		}
	}
	r.subscribe("a", true, h("a"))
	r.subscribe("b", false, h("b"))
	var evs []synclayer.Event
	for range n {
		evs = append(evs, r.event(busEventType))
	}
	r.publish(evs...)
	// A broker may hand all partitions to the first subscriber until a
	// rebalance lets the second one in: while one subscriber has handled
	// nothing, keep publishing a few more events.
	for {
		r.waitFor(fmt.Sprintf("%d events acknowledged", len(evs)), func() bool { return c.ackedCount() == len(evs) })
		mu.Lock()
		shared := by["a"] > 0 && by["b"] > 0
		mu.Unlock()
		if shared || len(evs) >= 20*n {
			break
		}
		for range n / 4 {
			ev := r.event(busEventType)
			evs = append(evs, ev)
			r.publish(ev)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		if !c.acked[ev.ID] {
			t.Errorf("event %s lost", ev.ID)
		}
	}
	if len(c.overlaps) > 0 {
		t.Errorf("events handled by two handlers at once: %v", c.overlaps)
	}
	if by["a"] == 0 || by["b"] == 0 {
		t.Errorf("subscribers did not share the events: a handled %d, b %d", by["a"], by["b"])
	}
	t.Logf("a handled %d events, b %d", by["a"], by["b"])
}

func testStoppedSubscriber(t *testing.T, r *busRun) {
	holding := make(chan string, 1)
	var mu sync.Mutex
	var handledByB []string
	a := r.subscribe("a", true, func(ctx context.Context, ev synclayer.Event) error {
		select {
		case holding <- ev.ID:
		default:
		}
		<-ctx.Done() // hold the event until the subscriber is stopped
		return fmt.Errorf("synclayertest: stopped while holding %s: %w", ev.ID, ctx.Err())
	})
	ev := r.event(busEventType)
	r.publish(ev)
	select {
	case id := <-holding:
		if id != ev.ID {
			t.Fatalf("subscriber a holds %q, want %q", id, ev.ID)
		}
	case <-r.ctx.Done():
		t.Fatal("subscriber a never received the event")
	}
	r.subscribe("b", false, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		handledByB = append(handledByB, ev.ID)
		mu.Unlock()
		return nil
	})
	if err := a.stop(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe of the stopped subscriber returned %v, want nil or context.Canceled", err)
	}
	r.waitFor("the event to be redelivered to subscriber b", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handledByB) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if handledByB[0] != ev.ID {
		t.Errorf("subscriber b got %v, want %s", handledByB, ev.ID)
	}
	if dls := r.deadLetters(); len(dls) != 0 {
		t.Errorf("dead letters: %+v", dls)
	}
}

func testSubscribeReturns(t *testing.T, r *busRun) {
	entered := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	var mu sync.Mutex
	handlerDone := false
	s := r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		once.Do(func() { close(entered) })
		<-release
		mu.Lock()
		handlerDone = true
		mu.Unlock()
		return nil
	})
	r.publishUntil(entered)
	s.cancel()
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()
	err := s.stop(t)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe returned %v, want nil or context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !handlerDone {
		t.Error("Subscribe returned before the handler call in flight returned")
	}
}

func testReconnect(t *testing.T, r *busRun) {
	if r.fx.CutConnection == nil {
		t.Skip("the bus cannot cut its connection in a test (CutConnection is nil)")
	}
	var mu sync.Mutex
	got := map[string]bool{}
	r.subscribe("a", true, func(_ context.Context, ev synclayer.Event) error {
		mu.Lock()
		got[ev.ID] = true
		mu.Unlock()
		return nil
	})
	before := r.event(busEventType)
	r.publish(before)
	r.waitFor("the event published before the cut", func() bool { mu.Lock(); defer mu.Unlock(); return got[before.ID] })
	if err := r.fx.CutConnection(r.ctx); err != nil {
		t.Fatalf("CutConnection: %v", err)
	}
	after := r.event(busEventType)
	// The bus may need a moment to reconnect: Publish may fail meanwhile,
	// but must succeed again before the rule's deadline.
	for attempt := 1; ; attempt++ {
		err := r.fx.Bus.Publish(r.ctx, after)
		if err == nil {
			break
		}
		if r.ctx.Err() != nil {
			t.Fatalf("Publish never succeeded after the cut: %v", err)
		}
		t.Logf("Publish attempt %d after the cut: %v", attempt, err)
		time.Sleep(100 * time.Millisecond)
	}
	r.waitFor("the event published after the cut", func() bool { mu.Lock(); defer mu.Unlock(); return got[after.ID] })
}

func testBusDispatcher(t *testing.T, r *busRun) {
	fake := NewFake()
	fake.Inject(Fault{Key: "bad", Times: -1, Err: synclayer.Permanent(errors.New("synclayertest: partner refuses key bad"))})
	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		var v struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return synclayer.Record{}, err
		}
		return synclayer.Record{Key: v.Key, Payload: string(ev.Data)}, nil
	})
	if err := reg.Register("fake", fake, synclayer.Route(busEventType, mapper)); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, r.fx.Bus) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context ended, want nil", err)
			}
		case <-time.After(busRuleTimeout):
			t.Error("Run did not return after its context ended")
		}
	}()
	const n = 20
	keys := map[string]bool{}
	// Publish until the first one lands, in case the bus keeps events only
	// for queues that exist once Run has subscribed.
	first := r.event(busEventType)
	first.Data = json.RawMessage(`{"key":"k-first"}`)
	for fake.CallCount() == 0 {
		r.publish(first)
		first.ID += "x"
		select {
		case <-r.ctx.Done():
			t.Fatal("the dispatcher never received an event")
		case <-time.After(200 * time.Millisecond):
		}
	}
	for i := range n {
		ev := r.event(busEventType)
		key := fmt.Sprintf("k-%d", i)
		ev.Data = json.RawMessage(fmt.Sprintf(`{"key":%q}`, key))
		keys[key] = true
		r.publish(ev)
	}
	bad := r.event(busEventType)
	bad.Data = json.RawMessage(`{"key":"bad"}`)
	r.publish(bad)
	r.waitFor(fmt.Sprintf("%d records at the fake partner", n), func() bool {
		recs := fake.Records()
		for k := range keys {
			if _, ok := recs[k]; !ok {
				return false
			}
		}
		return true
	})
	var dls []DeadLetter
	r.waitFor("the refused event to be dead-lettered", func() bool { dls = r.deadLetters(); return len(dls) > 0 })
	if dls[0].Event.ID != bad.ID || !strings.Contains(dls[0].Err, "partner refuses key bad") {
		t.Errorf("dead letter = %+v, want event %s with the partner's error", dls[0], bad.ID)
	}
	if len(dls) != 1 {
		t.Errorf("%d dead letters, want 1: %+v", len(dls), dls)
	}
}
