package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/bus/nats"
	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
)

// keyedPartner is a records API that keeps the newest version per key and
// records whether two writes of one key ever overlapped.
type keyedPartner struct {
	mu       sync.Mutex
	versions map[string]int
	busy     map[string]bool
	overlaps int
	writes   int
}

func (p *keyedPartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var doc struct{ Seq int }
	_ = json.Unmarshal(body, &doc)
	p.mu.Lock()
	if p.busy[r.URL.Path] {
		p.overlaps++
	}
	p.busy[r.URL.Path] = true
	p.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // hold the key, so an overlap would show
	p.mu.Lock()
	p.busy[r.URL.Path] = false
	p.writes++
	if doc.Seq > p.versions[r.URL.Path] {
		p.versions[r.URL.Path] = doc.Seq
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The binary runs a configuration on NATS JetStream and PostgreSQL: two
// replicas share the events, every key ends at its newest version, no key
// is pushed twice at once, /readyz and /metrics answer, and SIGTERM exits
// 0.
func TestBinaryRunsOnNATSAndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two replicas")
	}
	dsn := testenv.Postgres.Need(t)
	natsURL := testenv.NATS.Need(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "synclayer")
	testproc.Build(t, bin, ".")
	partner := &keyedPartner{versions: map[string]int{}, busy: map[string]bool{}}
	srv := httptest.NewServer(partner)
	defer srv.Close()
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	stream := "CFGBIN_" + strings.ToUpper(id)

	addrs := []string{freeAddr(t), freeAddr(t)}
	var cmds []*exec.Cmd
	for i, addr := range addrs {
		file := filepath.Join(dir, fmt.Sprintf("replica%d.yaml", i))
		cfg := fmt.Sprintf(`
bus: {kind: nats, url: %q, stream: %s, prefix: cfgbin.%s}
store: {kind: postgres, dsn: "${env:PG_DSN}", table: cfgbin_%s}
log: {kind: memory}
http: {addr: %q}
dispatcher: {drainTimeout: 10s}
partners:
  - name: records
    kind: rest
    settings: {baseUrl: %q}
    retry: {maxAttempts: 3, initialInterval: 20ms}
    routes:
      WorkflowDeployed:
        key: data.workflowId
        version: data.seq
        record: {workflowId: data.workflowId, seq: data.seq}
`, natsURL, stream, id, id, addr, srv.URL)
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "-config", file)
		cmd.Env = append(os.Environ(), "PG_DSN="+dsn)
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("replica%d.log", i)))
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		defer cmd.Process.Kill()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	get := func(url string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, addr := range addrs {
		for {
			if code, _ := get("http://" + addr + "/readyz"); code == http.StatusOK {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("replica on %s never ready; logs in %s", addr, dir)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	nc, err := natsgo.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	pub, err := nats.NewBus(ctx, nc, stream, nats.WithSubjectPrefix("cfgbin."+id))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	const keys, perKey = 10, 6
	for seq := 1; seq <= perKey; seq++ {
		for k := range keys {
			data := fmt.Sprintf(`{"workflowId":"WF-%d","seq":%d}`, k, seq)
			ev := synclayer.Event{ID: fmt.Sprintf("e-%d-%d", k, seq), Type: "WorkflowDeployed", Time: time.Now(), Data: []byte(data)}
			if err := pub.Publish(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		partner.mu.Lock()
		done := len(partner.versions) == keys
		for _, v := range partner.versions {
			done = done && v == perKey
		}
		partner.mu.Unlock()
		if done {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("records did not arrive: %v", partner.versions)
		}
		time.Sleep(20 * time.Millisecond)
	}

	pushed := regexp.MustCompile(`synclayer_pushes_total\{partner="records",outcome="ok"\} (\d+)`)
	total := 0
	for _, addr := range addrs {
		code, body := get("http://" + addr + "/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d", code)
		}
		if m := pushed.FindStringSubmatch(body); m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	partner.mu.Lock()
	writes, overlaps := partner.writes, partner.overlaps
	partner.mu.Unlock()
	if total != writes || total == 0 {
		t.Errorf("/metrics counts %d pushes, the partner saw %d", total, writes)
	}
	if overlaps != 0 {
		t.Errorf("a key was pushed twice at once %d time(s)", overlaps)
	}

	for _, cmd := range cmds {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			logs, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica%d.log", i)))
			t.Errorf("replica %d after SIGTERM: %v\n%s", i, err, logs)
		}
	}
}
