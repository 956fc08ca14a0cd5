package monitor_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/monitor"
)

// fakeBacklog is a queue of a fixed size and oldest item, or an error.
type fakeBacklog struct {
	n      int64
	oldest time.Time
	err    error
	calls  atomic.Int64
}

func (b *fakeBacklog) Backlog(context.Context) (int64, time.Time, error) {
	b.calls.Add(1)
	return b.n, b.oldest, b.err
}

// A backlog added with WithBacklog shows in the status and api/backlogs:
// its count and the age of its oldest item. A failing one shows -1 and no
// detail of its error; backlogs are asked at most once a second.
func TestBacklogs(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	outbox := &fakeBacklog{n: 3, oldest: now.Add(-90 * time.Second)}
	broken := &fakeBacklog{err: errors.New("dial postgres://app:hunter2@db/app: refused")}
	empty := &fakeBacklog{}
	r := newRig(t, monitor.WithBacklog("outbox", outbox), monitor.WithBacklog("broken", broken), monitor.WithBacklog("empty", empty))
	monitor.SetClock(r.h, func() time.Time { return now })

	var st monitor.Status
	r.get(t, "api/status", &st)
	if len(st.Backlogs) != 3 {
		t.Fatalf("backlogs %+v", st.Backlogs)
	}
	if b := st.Backlogs[0]; b.Name != "outbox" || b.Count != 3 || b.AgeSeconds != 90 || !b.Oldest.Equal(now.Add(-90*time.Second)) || b.Error != "" {
		t.Errorf("outbox %+v", b)
	}
	if b := st.Backlogs[1]; b.Name != "broken" || b.Count != -1 || b.Error == "" {
		t.Errorf("broken %+v", b)
	}
	if b := st.Backlogs[2]; b.Name != "empty" || b.Count != 0 || b.AgeSeconds != 0 || !b.Oldest.IsZero() {
		t.Errorf("empty %+v", b)
	}
	var page monitor.QueuePage
	_, body := r.get(t, "api/backlogs", &page)
	if len(page.Backlogs) != 3 || page.Backlogs[0].Count != 3 || strings.Contains(body, "hunter2") || strings.Contains(body, "postgres") {
		t.Errorf("api/backlogs: %s", body)
	}
	if n := outbox.calls.Load(); n != 1 {
		t.Errorf("asked %d times within a second, want once", n)
	}
	outbox.n = 4
	now = now.Add(2 * time.Second)
	r.get(t, "api/backlogs", &page)
	if n := outbox.calls.Load(); n != 2 || page.Backlogs[0].Count != 4 || page.Backlogs[0].AgeSeconds != 92 {
		t.Errorf("after 2s: asked %d times, %+v", n, page.Backlogs[0])
	}
	var none monitor.Status
	newRig(t).get(t, "api/status", &none)
	if none.Backlogs == nil || len(none.Backlogs) != 0 {
		t.Errorf("no backlogs: %+v", none.Backlogs)
	}

}
