package synclayer_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Rule 5: one announcement per event, at least once with deduplication.
func TestSyncCompletedOncePerEvent(t *testing.T) {
	reg, _ := newFakes(t, 2)
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub), synclayer.WithSource("test"))
	ev := event("e1", "WF-1", 1)
	ev.Meta = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	for range 3 {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got := pub.Events()
	if len(got) != 1 {
		t.Fatalf("published %d announcements, want 1", len(got))
	}
	a := got[0]
	if a.Type != synclayer.SyncCompleted || a.ID != "SyncCompleted:e1" || a.Subject != "e1" || a.Source != "test" || a.Meta["traceparent"] != ev.Meta["traceparent"] {
		t.Fatalf("announcement envelope = %+v", a)
	}
	var data synclayer.Announcement
	if err := json.Unmarshal(a.Data, &data); err != nil {
		t.Fatal(err)
	}
	want := synclayer.Announcement{EventID: "e1", EventType: "WorkflowDeployed", Results: []synclayer.AnnouncedResult{
		{Connector: "p0", Key: "WF-1", Status: synclayer.StatusSynced, Attempts: 1},
		{Connector: "p1", Key: "WF-1", Status: synclayer.StatusSynced, Attempts: 1},
	}}
	for i := range data.Results {
		data.Results[i].DurationMs = 0
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Fatalf("announcement data (-want +got):\n%s", diff)
	}
	// The raw JSON uses the documented field names and status words.
	for _, s := range []string{`"eventId":"e1"`, `"eventType":"WorkflowDeployed"`, `"status":"synced"`, `"connector":"p0"`} {
		if !strings.Contains(string(a.Data), s) {
			t.Errorf("announcement JSON %s lacks %s", a.Data, s)
		}
	}
}

func TestSyncFailedNamesRouteAndError(t *testing.T) {
	reg, fakes := newFakes(t, 2)
	fakes[1].Inject(synclayertest.Fault{Err: synclayer.Permanent(errors.New("partner said 400: field title missing"))})
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	ev := event("e9", "WF-9", 0)
	if _, err := d.Dispatch(t.Context(), ev); err == nil {
		t.Fatal("want an error")
	}
	got := pub.Events()
	if len(got) != 1 || got[0].Type != synclayer.SyncFailed {
		t.Fatalf("announcements = %v, want one SyncFailed", got)
	}
	var data synclayer.Announcement
	if err := json.Unmarshal(got[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	r := data.Results[1]
	if r.Connector != "p1" || r.Status != synclayer.StatusFailed || !strings.Contains(r.Error, "field title missing") || !strings.Contains(r.Error, `"e9"`) {
		t.Fatalf("failed result = %+v", r)
	}
	// The failure repaired by a redelivery is announced as completed, once.
	for range 2 {
		if _, err := d.Dispatch(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got = pub.Events()
	if len(got) != 2 || got[1].Type != synclayer.SyncCompleted {
		t.Fatalf("after repair: %d announcements (%v), want SyncFailed then one SyncCompleted", len(got), got)
	}
}

func TestAnnouncementRetriedOnRedeliveryWhenPublishFailed(t *testing.T) {
	reg, fakes := newFakes(t, 1)
	pub := &recordingPublisher{failing: errors.New("bus down")}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	ev := event("e1", "WF-1", 0)
	rep, err := d.Dispatch(t.Context(), ev)
	if !errors.Is(err, synclayer.ErrPublish) || !strings.Contains(err.Error(), "bus down") || synclayer.IsPermanent(err) {
		t.Fatalf("err = %v; want a retryable ErrPublish naming the cause", err)
	}
	if rep.Results[0].Status != synclayer.StatusSynced {
		t.Fatalf("the push itself should have succeeded: %v", rep.Results[0])
	}
	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()
	rep, err = d.Dispatch(t.Context(), ev)
	if err != nil || rep.Results[0].Status != synclayer.StatusDuplicate {
		t.Fatalf("redelivery: %v, %v; want duplicate and no error", rep.Results, err)
	}
	if got := pub.Events(); len(got) != 1 || got[0].Type != synclayer.SyncCompleted {
		t.Fatalf("announcements after redelivery = %v, want one SyncCompleted", got)
	}
	if fakes[0].CallCount() != 1 {
		t.Fatalf("partner called %d times, want 1", fakes[0].CallCount())
	}
}

func TestNoAnnouncementWithoutRoutes(t *testing.T) {
	reg, _ := newFakes(t, 1)
	pub := &recordingPublisher{}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithPublisher(pub))
	if _, err := d.Dispatch(t.Context(), synclayer.Event{ID: "x", Type: synclayer.SyncCompleted}); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.Events()); n != 0 {
		t.Fatalf("%d announcements for an unrouted event, want 0 (announcing it would loop)", n)
	}
}
