package rest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

func Example() {
	// A partner records API.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.EscapedPath(), string(body))
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()

	conn, err := rest.New(rest.Config{BaseURL: srv.URL, Name: "records"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	type workflow struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	reg := new(synclayer.Registry)
	mapper := synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, wf workflow) (synclayer.Record, error) {
		return synclayer.Record{Key: wf.ID, Payload: wf}, nil
	})
	if err := reg.Register("records", conn, synclayer.Route("WorkflowDeployed", mapper)); err != nil {
		fmt.Println(err)
		return
	}
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		log.Fatal(err)
	}
	rep, err := d.Dispatch(context.Background(), synclayer.Event{
		ID:   "evt-1",
		Type: "WorkflowDeployed",
		Data: []byte(`{"id":"WF/123","title":"Intake"}`),
	})
	fmt.Println(rep.Results[0].Status, err)
	// Output:
	// PUT /records/WF%2F123 {"id":"WF/123","title":"Intake"}
	// synced <nil>
}
