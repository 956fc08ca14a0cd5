package synclayer_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/idempotency"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// storeSecret is what a database driver's error can carry: a host, a user.
const storeSecret = "dial tcp 10.1.2.3:5432: password authentication failed for user x"

// settleFailingStore is a memory store whose Complete and Release fail
// with storeSecret, each while its flag is set.
type settleFailingStore struct {
	synclayer.Store
	complete, release bool
}

func (s *settleFailingStore) Complete(ctx context.Context, c idempotency.Claim, token string) error {
	if s.complete {
		return errors.New(storeSecret)
	}
	return s.Store.Complete(ctx, c, token)
}

func (s *settleFailingStore) Release(ctx context.Context, c idempotency.Claim, token string) error {
	if s.release {
		return errors.New(storeSecret)
	}
	return s.Store.Release(ctx, c, token)
}

// A store failure on the way out of a push reaches the Result whole (it
// wraps ErrStore and says what the store said, for the caller and its
// logs), but the delivery log and the watchers, which the monitor shows
// to its readers, and the announcement, which goes out on the platform's
// bus, get a fixed text for the store's part: a driver's text can name a
// host, a user or a query. A partner's own answer is kept.
func TestDeliveryErrorHidesStoreText(t *testing.T) {
	for _, c := range []struct {
		name      string
		store     settleFailingStore
		partner   error
		wantState synclayer.Status
		wantError string
		// The announced route's error; "" when the route is not final, and
		// nothing is announced.
		wantAnnounced string
	}{
		{name: "complete fails after the push", store: settleFailingStore{complete: true},
			wantState: synclayer.StatusFailed, wantError: "idempotency store failed: pushed, but could not record it"},
		{name: "release fails after the partner refused", store: settleFailingStore{release: true},
			partner:   synclayer.Permanent(errors.New("partner says: WF-1 is locked")),
			wantState: synclayer.StatusDead, wantError: "partner says: WF-1 is locked\nidempotency store failed: release lease",
			wantAnnounced: `synclayer: event "e1" ("WorkflowDeployed") connector "p0" key "WF-1": sync: partner says: WF-1 is locked` +
				"\nidempotency store failed: release lease"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, fakes := newFakes(t, 1)
			if c.partner != nil {
				fakes[0].Inject(synclayertest.Fault{Err: c.partner, Times: -1})
			}
			store := c.store
			store.Store = new(synclayer.MemoryStore)
			pub := &recordingPublisher{}
			d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver), synclayer.WithStore(&store),
				synclayer.WithPublisher(pub))
			var mu sync.Mutex
			var watched []synclayer.Delivery
			stop := d.Watch(func(dl synclayer.Delivery) {
				mu.Lock()
				watched = append(watched, dl)
				mu.Unlock()
			})
			defer stop()

			rep, _ := d.Dispatch(t.Context(), event("e1", "WF-1", 1))
			res := rep.Results[0]
			if res.Status != synclayer.StatusFailed || !errors.Is(res.Err, synclayer.ErrStore) || !strings.Contains(res.Err.Error(), storeSecret) {
				t.Errorf("result %v %v, want failed, wrapping ErrStore, with the store's text", res.Status, res.Err)
			}

			logged, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: "e1"})
			if err != nil {
				t.Fatal(err)
			}
			if len(logged) == 0 || logged[0].State != c.wantState || logged[0].Error != c.wantError {
				t.Errorf("delivery log %+v, want the newest %s with error %q", logged, c.wantState, c.wantError)
			}
			var announced []string
			for _, ev := range pub.Events() {
				var an synclayer.Announcement
				if err := json.Unmarshal(ev.Data, &an); err != nil {
					t.Fatalf("announcement %s: %v", ev.Data, err)
				}
				for _, r := range an.Results {
					announced = append(announced, r.Error)
				}
			}
			if want := []string{c.wantAnnounced}; c.wantAnnounced == "" && len(announced) != 0 || c.wantAnnounced != "" && !slices.Equal(announced, want) {
				t.Errorf("announced route errors %q, want %q", announced, c.wantAnnounced)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, dl := range append(logged, watched...) {
				if strings.Contains(dl.Error, "10.1.2.3") || strings.Contains(dl.Error, "password") {
					t.Errorf("delivery %s %s carries the store's text: %q", dl.Connector, dl.State, dl.Error)
				}
			}
		})
	}
}
