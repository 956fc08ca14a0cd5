package webhook_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

func dispatcher(t *testing.T, conn synclayer.Connector, obs synclayer.Observer) *synclayer.Dispatcher {
	record := func(key string) synclayer.Record {
		return synclayer.Record{Key: key, Version: 1, Payload: payload{Version: 1}}
	}
	return conntest.Retrying(t, "hooks", conn, record, obs)
}

func TestLostResponseDeliversOnceWithSameID(t *testing.T) {
	for name, f := range map[string]fault{"LostResponse": lostResponse, "Stall": stall, "TooManyRequests": status(429, "Retry-After", "0")} {
		t.Run(name, func(t *testing.T) {
			rc := newReceiver(t)
			rc.faults.Inject(f)
			conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in", Secrets: []string{testSecret}})
			conntest.DeliveredOnRetry(t, dispatcher(t, conntest.Open(t, conn, err), nil), "WF-1")
			_, hs := rc.messages()
			if len(hs) != 2 || hs[0].Get(webhook.HeaderID) != hs[1].Get(webhook.HeaderID) {
				t.Fatalf("%d deliveries; the retry must repeat the webhook-id", len(hs))
			}
			if got, _ := rc.lookup(t.Context(), "WF-1"); len(got) != 1 || got[0] != 1 {
				t.Errorf("receiver holds %v", got)
			}
			if n := rc.rejections(); n != 0 {
				t.Errorf("%d signatures rejected", n)
			}
		})
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	rc := newReceiver(t)
	rc.faults.Inject(status(400), status(503), status(503), status(503), status(503))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in/SECRETPATH?token=SECRETQUERY", Secrets: []string{testSecret}})
	conn = conntest.Open(t, conn, err)
	wrong, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in/SECRETPATH", Secrets: []string{"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"}})
	wrong = conntest.Open(t, wrong, err)
	texts := conntest.PushFailures(t, dispatcher(t, conn, synclayer.LogObserver(logger)), "a", "b")
	if err := wrong.Sync(t.Context(), record("c", 1)); err != nil {
		texts = append(texts, err.Error())
	}
	conntest.NoSecrets(t, texts, logs.String(), []string{"400", "503", "401"},
		[]string{"SECRETPATH", "SECRETQUERY", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"})
}

// The client New builds does not follow redirects: the spec counts a 3xx
// as a failure, and following one could post the message elsewhere.
func TestBuiltClientDoesNotFollowRedirects(t *testing.T) {
	rc := newReceiver(t)
	rc.faults.Inject(func(w http.ResponseWriter, r *http.Request, _ func() int) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	conn, err := webhook.New(webhook.Config{URL: rc.srv.URL + "/in", Secrets: []string{testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Sync(t.Context(), record("k", 1))
	if !errors.Is(err, partner.ErrRejected) || !synclayer.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
	if msgs, _ := rc.messages(); len(msgs) != 1 {
		t.Errorf("%d deliveries, want 1", len(msgs))
	}
}
