package rest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// TestNoSecretInErrorsOrLogs drives every kind of failure through a
// dispatcher that logs at Debug, with a partner that echoes the request's
// headers and URL in its error bodies, and greps the errors and the log.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const (
		bearer   = "SECRET-BEARER-0001"
		apiHdr   = "SECRET-HEADER-0002"
		queryTok = "SECRET-QUERY-0003"
		password = "SECRET-PASSWD-0004"
	)
	secrets := []string{bearer, apiHdr, queryTok, password}

	echo := func(code int) fault {
		return func(w http.ResponseWriter, r *http.Request, _ func() int) {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "you sent "+r.URL.String()+" with "+r.Header.Get("Authorization")+
				" and "+r.Header.Get("X-Partner-Key")+" and "+r.Header.Get("X-Forwarded-Token"))
		}
	}
	p := newPartner(t)
	p.faults.Inject(echo(400), echo(503), echo(503), echo(503), echo(404), lostResponse, stall, stall, stall)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	base := strings.Replace(p.srv.URL, "http://", "http://svc:"+password+"@", 1)
	conn, err := rest.New(rest.Config{
		BaseURL: base,
		Path:    "/records/{key}?access_token=" + queryTok,
		Header: http.Header{
			"Authorization":     {"Bearer " + bearer},
			"X-Partner-Key":     {apiHdr},
			"X-Forwarded-Token": {"Token " + bearer},
		},
		SecretHeaders: []string{"X-Partner-Key"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A second connector aimed at a closed port: connection refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	refused, err := rest.New(rest.Config{
		BaseURL: "http://svc:" + password + "@" + closed,
		Path:    "/records/{key}?signature=" + queryTok,
		Header:  http.Header{"Authorization": {"Bearer " + bearer}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()

	reg := new(synclayer.Registry)
	mapper := synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
		return synclayer.Record{Key: ev.Subject, Payload: payload{Key: ev.Subject}}, nil
	})
	policy := synclayer.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}
	for name, c := range map[string]synclayer.Connector{"records": conn, "refused": refused} {
		if err := reg.Register(name, c, synclayer.Route("Push", mapper), synclayer.WithRetry(policy), synclayer.WithTimeout(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	d := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.LogObserver(logger)))
	var texts []string
	for _, key := range []string{"k1", "k2", "k3", "k4", "k5"} {
		rep, err := d.Dispatch(t.Context(), synclayer.Event{ID: "evt-" + key, Type: "Push", Subject: key})
		if err != nil {
			texts = append(texts, err.Error())
		}
		for _, r := range rep.Results {
			if r.Err != nil {
				texts = append(texts, r.Err.Error())
			}
		}
	}
	conntest.NoSecrets(t, texts, logs.String(), []string{"503", "400", "refused"}, secrets)
}
