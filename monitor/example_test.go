package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
)

// Mount the monitor under a path of the service, behind its own auth, and
// read the status and the dead letters through the JSON API.
func Example() {
	byKey := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject}, nil
	})
	reg := new(synclayer.Registry)
	_ = reg.Register("calendar", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", byKey))
	_ = reg.Register("records", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error {
		return synclayer.Permanent(errors.New("records: 422 invalid start date"))
	}), synclayer.Route("WorkflowDeployed", byKey))
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		log.Fatal(err)
	}
	_, _ = d.Dispatch(context.Background(), synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed", Subject: "WF-1"})

	mon, err := monitor.New(d, monitor.WithTitle("Management Layer"), monitor.WithWrites(true))
	if err != nil {
		panic(err)
	}
	defer mon.Close()
	requireAdmin := func(h http.Handler) http.Handler { return h } // the service's own auth middleware
	mux := http.NewServeMux()
	mux.Handle("/ops/sync/", requireAdmin(http.StripPrefix("/ops/sync", mon)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var st monitor.Status
	getJSON(srv.URL+"/ops/sync/api/status", &st)
	for _, c := range st.Connectors {
		fmt.Printf("%s: %s, breaker %s, synced %d, dead %d\n", c.Name, c.State, c.Breaker, c.Synced, c.Dead)
	}
	var dead struct{ DeadLetters []synclayer.Delivery }
	getJSON(srv.URL+"/ops/sync/api/dead-letters?connector=records", &dead)
	for _, dl := range dead.DeadLetters {
		fmt.Printf("dead letter: %s %s key %s: %s\n", dl.EventID, dl.Connector, dl.Key, dl.Error)
	}
	// Output:
	// calendar: running, breaker closed, synced 1, dead 0
	// records: running, breaker closed, synced 0, dead 1
	// dead letter: evt-1 records key WF-1: records: 422 invalid start date
}

func getJSON(url string, v any) {
	res, err := http.Get(url)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		panic(err)
	}
}
