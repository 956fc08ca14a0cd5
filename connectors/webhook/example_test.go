package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	// The receiver checks every message with Verify before trusting it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified:", string(body))
	}))
	defer srv.Close()

	conn, err := webhook.New(webhook.Config{URL: srv.URL + "/hooks", Secrets: []string{secret}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	err = conn.Sync(context.Background(), synclayer.Record{
		Key:     "WF-123",
		Version: 1,
		Payload: map[string]string{"title": "Intake"},
		Event:   synclayer.Event{ID: "evt-1", Type: "WorkflowDeployed"},
	})
	fmt.Println(err)
	// Output:
	// verified: {"type":"WorkflowDeployed","eventId":"evt-1","key":"WF-123","version":1,"data":{"title":"Intake"}}
	// <nil>
}
