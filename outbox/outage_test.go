package outbox_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testwait"
	"github.com/hmsplatform/synclayer/outbox"
)

// natsServer is a nats-server with JetStream that the test starts and
// stops on a fixed loopback port and store directory.
type natsServer struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	done     chan error
}

func findNATSServer(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	const bin = "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		testenv.Unavailable(t, "the nats-server binary", err)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the server and waits until it accepts connections.
func (s *natsServer) start() error {
	s.cmd = exec.Command(s.bin, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-sd", s.dir)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("nats-server on port %d did not start: %w", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server (SIGTERM, as an operator would) and waits for it.
func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// TestBrokerOutage stops the broker for ten seconds while the publisher
// keeps writing through the outbox and a relay keeps trying: the events
// wait in the outbox, and once the broker is back the relay catches up.
// Every committed event must be on the stream, each once. It runs on each
// database at once, each with a broker, a table (or SQLite file) and a
// relay of its own: most of each run is the outage's wait, so in turn
// they took three times as long for nothing.
func TestBrokerOutage(t *testing.T) {
	inParent(t)
	eachDB(t, func(t *testing.T, c dbCase) {
		t.Parallel()
		brokerOutage(t, c)
	})
}

// brokerOutage is TestBrokerOutage on one database, with a broker of its
// own.
func brokerOutage(t *testing.T, c dbCase) {
	srv := &natsServer{bin: findNATSServer(t), dir: t.TempDir(), port: freePort(t)}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.stop)
	db := c.open(t)
	ob := newOutbox(t, db, c.dialect, outbox.WithLease(3*time.Second))
	ctx := t.Context()

	url := fmt.Sprintf("nats://127.0.0.1:%d", srv.port)
	nc, err := natsgo.Connect(url, natsgo.MaxReconnects(-1), natsgo.ReconnectWait(100*time.Millisecond), natsgo.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	const stream = "outage"
	bus := newNATSBus(t, ctx, nc, stream)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() uint64 { // 0 while the broker is down
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		n, _ := streamMsgs(c, js, stream)
		return n
	}
	stopRelay := startRelay(t, ob, bus)

	// The outage: once 300 events are on the stream, the broker stops for
	// ten seconds; the writers go on.
	type outcome struct {
		peak int64
		err  error
	}
	outage := make(chan outcome, 1)
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for stored() < 300 {
			if time.Now().After(deadline) {
				outage <- outcome{err: fmt.Errorf("only %d events on the stream before the outage", stored())}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		srv.stop()
		down := time.Now()
		var peak int64
		for time.Since(down) < 10*time.Second {
			if n, _, err := ob.Backlog(ctx); err == nil {
				peak = max(peak, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		outage <- outcome{peak: peak, err: srv.start()}
	}()
	w := newWorkload(t, db, c.dialect, ob, 3000, 8, 50)
	w.pause = 20 * time.Millisecond // writes go on while the broker is down
	start := time.Now()
	w.drive(t)
	wrote := time.Since(start)
	o := <-outage
	back := time.Since(start)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.peak == 0 {
		t.Fatal("nothing waited in the outbox while the broker was down")
	}
	committed := len(w.committed)
	testwait.For(t, 60*time.Second, func() string {
		return fmt.Sprintf("%d of %d committed events on the stream after the outage", stored(), committed)
	}, func() bool {
		n, _, err := ob.Backlog(ctx)
		return err == nil && n == 0 && stored() >= uint64(committed)
	})
	elapsed := time.Since(start)
	stopRelay()

	// Each committed event on the stream, once.
	seen := map[string]int{}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= stored(); seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		seen[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.committed {
		if seen[id] != 1 {
			t.Errorf("committed event %s is on the stream %d times", id, seen[id])
		}
	}
	if len(seen) != committed {
		t.Errorf("the stream holds %d distinct events for %d committed", len(seen), committed)
	}
	t.Logf("%d committed events (written in %v), broker down 10s with up to %d events waiting in the outbox, back at %v: all on the stream once at %v",
		committed, wrote.Round(time.Millisecond), o.peak, back.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}
