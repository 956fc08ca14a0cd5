package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/rest"
)

// A record edited by hand at the partner is found by Verify and put back by
// Repair, which keeps the note the partner owns.
func ExampleConnector_Verify() {
	// A partner that holds one record, with an ETag.
	var mu sync.Mutex
	held, tag := []byte(`{"id":"WF-1","title":"Intake (edited)","note":"call first","rowid":7}`), `"1"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet:
			w.Header().Set("ETag", tag)
			w.Write(held)
		case r.Header.Get("If-Match") != tag:
			w.WriteHeader(http.StatusPreconditionFailed)
		default:
			held, _ = io.ReadAll(r.Body)
			tag = `"2"`
		}
	}))
	defer srv.Close()

	conn, err := rest.New(rest.Config{BaseURL: srv.URL, OwnedFields: []string{"note"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	rec := synclayer.Record{Key: "WF-1", Version: 3,
		Payload: json.RawMessage(`{"id":"WF-1","title":"Intake","note":""}`)}
	v, err := conn.Verify(context.Background(), rec)
	fmt.Println(v.Kind, v.Fields, v.ETag, err)
	err = conn.Repair(context.Background(), rec, v)
	mu.Lock()
	fmt.Println(string(held), err)
	mu.Unlock()
	// Output:
	// differs [title] "1" <nil>
	// {"id":"WF-1","note":"call first","title":"Intake"} <nil>
}
