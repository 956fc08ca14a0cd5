package arcgis_test

import (
	"strconv"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis"
	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
)

// TestDeliveryCarriesObjectID: through a Dispatcher, the delivery log
// keeps the feature's object id as the partner id, so an operator can
// find the feature in the layer.
func TestDeliveryCarriesObjectID(t *testing.T) {
	f := newFakeLayer(t, "SYNC_KEY")
	f.Add(map[string]any{"SYNC_KEY": "other", "NAME": "x"}) // object ids start past 1
	d := newDispatcher(t, newConnector(t, f, nil))
	ev := assetEvent(asset{Key: "pump-7", Name: "Pump 7", Version: 1, X: 13.4})
	if _, err := d.Dispatch(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(onlyFeature(t, f, "pump-7").ObjectID, 10)
	got, err := d.Deliveries(t.Context(), synclayer.DeliveryFilter{EventID: ev.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("deliveries of %s = %+v, %v; want one", ev.ID, got, err)
	}
	if got[0].State != synclayer.StatusSynced || got[0].PartnerID != want {
		t.Errorf("delivery state %v, partner id %q; want synced with the feature's object id %q", got[0].State, got[0].PartnerID, want)
	}
}

// TestSyncIDReturnsObjectID: SyncID returns the object id of the feature
// that holds the key (from the applyEdits results), in every path of
// Sync, and the object id deleted for a delete.
func TestSyncIDReturnsObjectID(t *testing.T) {
	rec := func(key string, version int64, del bool) synclayer.Record {
		return synclayer.Record{Key: key, Version: version, Delete: del, Payload: arcgis.Feature{Attributes: map[string]any{"NAME": "n"}}}
	}
	oid := func(n int64) string { return strconv.FormatInt(n, 10) }
	syncID := func(t *testing.T, c *arcgis.Connector, r synclayer.Record) string {
		t.Helper()
		id, err := c.SyncID(t.Context(), r)
		if err != nil {
			t.Fatalf("SyncID(%s v%d delete=%v): %v", r.Key, r.Version, r.Delete, err)
		}
		return id
	}

	t.Run("AddUpdateDelete", func(t *testing.T) {
		f := newFakeLayer(t, "SYNC_KEY")
		f.Add(map[string]any{"SYNC_KEY": "other"}) // object ids start past 1
		c := newConnector(t, f, nil)
		added := syncID(t, c, rec("k", 1, false))
		want := oid(onlyFeature(t, f, "k").ObjectID)
		if added != want {
			t.Errorf("add: id %q, want the new feature's object id %s", added, want)
		}
		if got := syncID(t, c, rec("k", 2, false)); got != want {
			t.Errorf("update: id %q, want %s", got, want)
		}
		// A stale record writes nothing; the key's feature is still there.
		if got := syncID(t, c, rec("k", 1, false)); got != want {
			t.Errorf("stale update: id %q, want %s", got, want)
		}
		if got := syncID(t, c, rec("k", 1, true)); got != "" {
			t.Errorf("stale delete (nothing deleted): id %q, want \"\"", got)
		}
		if got := syncID(t, c, rec("k", 3, true)); got != want {
			t.Errorf("delete: id %q, want the deleted object id %s", got, want)
		}
		if f.count() != 1 {
			t.Errorf("%d features after the delete, want only the other key's", f.count())
		}
		if got := syncID(t, c, rec("k", 4, true)); got != "" {
			t.Errorf("delete of nothing: id %q, want \"\"", got)
		}
	})

	t.Run("Merge", func(t *testing.T) {
		f := newFakeLayer(t, "SYNC_KEY")
		first := f.Add(map[string]any{"SYNC_KEY": "dup", "NAME": "a"})
		f.Add(map[string]any{"SYNC_KEY": "dup", "NAME": "b"})
		c := newConnector(t, f, nil)
		if got := syncID(t, c, rec("dup", 1, false)); got != oid(first) || onlyFeature(t, f, "dup").ObjectID != first {
			t.Errorf("merge: id %q, want the kept object id %d", got, first)
		}
	})

	t.Run("RefusedAddTurnsIntoUpdate", func(t *testing.T) {
		f, c := addedBetween(t, nil)
		got := syncID(t, c, rec("k", 2, false))
		if want := oid(onlyFeature(t, f, "k").ObjectID); got != want {
			t.Errorf("id %q, want the other writer's feature %s, now updated", got, want)
		}
	})

	t.Run("VanishedUpdateTurnsIntoAdd", func(t *testing.T) {
		f := newFakeLayer(t, "SYNC_KEY")
		c := newConnector(t, f, nil)
		old := f.Add(map[string]any{"SYNC_KEY": "k", "SYNC_VERSION": float64(1)})
		f.Inject(arcgistest.Fault{Op: "applyEdits", Before: func() { f.Delete("k") }})
		got := syncID(t, c, rec("k", 2, false))
		ft := onlyFeature(t, f, "k")
		if got != oid(ft.ObjectID) || ft.ObjectID == old {
			t.Errorf("id %q, want the added feature's %d (the vanished one was %d)", got, ft.ObjectID, old)
		}
	})

	t.Run("Error", func(t *testing.T) {
		f := newFakeLayer(t, "SYNC_KEY")
		c := newConnector(t, f, nil)
		f.Inject(arcgistest.Fault{Op: "applyEdits", Body: `{"error":{"code":503,"message":"Service unavailable"}}`})
		id, err := c.SyncID(t.Context(), rec("k", 1, false))
		if err == nil || synclayer.IsPermanent(err) || id != "" {
			t.Errorf("SyncID against a 503 = %q, %v; want \"\" and a retryable error", id, err)
		}
	})
}
