package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/connectors/rest"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// recorder is a partner that records every request it gets, as text.
type recorder struct {
	mu       sync.Mutex
	requests []string
	status   int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var h []string
	for name, vs := range req.Header {
		if name == "Accept-Encoding" || name == "Content-Length" {
			continue
		}
		h = append(h, name+": "+strings.Join(vs, ","))
	}
	slices.Sort(h)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, fmt.Sprintf("%s %s\n%s\n\n%s", req.Method, req.URL.RequestURI(), strings.Join(h, "\n"), body))
	if r.status != 0 {
		// A partner that echoes the request's headers in its error.
		w.WriteHeader(r.status)
		fmt.Fprintf(w, "rejected: %s", strings.Join(h, "; "))
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// WorkflowDeployed is the data of the central use case's event.
type WorkflowDeployed struct {
	WorkflowID string `json:"workflowId"`
	Name       string `json:"name"`
	StartDate  string `json:"startDate"`
}

func workflowEvents() []synclayer.Event {
	t0 := time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)
	var evs []synclayer.Event
	for i, w := range []WorkflowDeployed{
		{"WF-123", "AutoApproveLowRisk", "2024-07-01"},
		{"WF-124", "Ünïcode & <escapes> \"quoted\"", "2024-08-01"},
		{"WF-123", "AutoApproveLowRisk", "2024-09-01"},
	} {
		data, _ := json.Marshal(w)
		evs = append(evs, synclayer.Event{ID: fmt.Sprintf("evt-%d", i+1), Type: "WorkflowDeployed",
			Source: "hms/management-layer", Subject: w.WorkflowID, Time: t0.Add(time.Duration(i) * time.Hour), Data: data})
	}
	return evs
}

// recordsConfig is a records partner on the memory bus: its base URL is
// the %s (a URL or a reference), its API key a reference.
const recordsConfig = `
bus: {kind: memory}
partners:
  - name: records
    kind: rest
    settings:
      baseUrl: %s
      headers:
        X-Api-Key: ${env:RECORDS_KEY}
    retry: {maxAttempts: 1}
    routes:
      WorkflowDeployed:
        key: data.workflowId
        version: unixNanos(event.time)
        record:
          workflowId: data.workflowId
          name: data.name
          startDate: data.startDate
`

const plantedKey = "PLANTED-secret-7f3a9c"

// buildTest parses src and builds its service with the test environment
// (env) and no log output; the service is closed when the test ends.
func buildTest(t *testing.T, file string, src []byte) *config.Service {
	t.Helper()
	cfg, err := config.Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := config.Build(t.Context(), cfg, config.WithLookupEnv(env), config.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(context.WithoutCancel(t.Context())) })
	return svc
}

func env(name string) (string, bool) {
	if name == "RECORDS_KEY" {
		return plantedKey, true
	}
	return "", false
}

// Two identical partners, one mapped in Go with MapJSON and one in
// config, receive byte-identical requests for the same events.
func TestGoAndConfigPartnersReceiveIdenticalRequests(t *testing.T) {
	ctx := context.Background()
	goSide, cfgSide := &recorder{}, &recorder{}
	goSrv, cfgSrv := httptest.NewServer(goSide), httptest.NewServer(cfgSide)
	defer goSrv.Close()
	defer cfgSrv.Close()

	conn, err := rest.New(rest.Config{BaseURL: goSrv.URL, Name: "records",
		Header: http.Header{"X-Api-Key": {plantedKey}}, SecretHeaders: []string{"X-Api-Key"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := new(synclayer.Registry)
	toRecord := synclayer.MapJSON(func(_ context.Context, ev synclayer.Event, w WorkflowDeployed) (synclayer.Record, error) {
		return synclayer.Record{Key: w.WorkflowID, Version: ev.Time.UnixNano(), Payload: w}, nil
	})
	if err := reg.Register("records", conn, synclayer.Route("WorkflowDeployed", toRecord), synclayer.WithRetry(synclayer.RetryPolicy{MaxAttempts: 1})); err != nil {
		t.Fatal(err)
	}
	goD := synclayertest.NewDispatcher(t, reg, synclayer.WithObserver(synclayer.NoObserver))

	svc := buildTest(t, "records.yaml", fmt.Appendf(nil, recordsConfig, cfgSrv.URL))

	for _, ev := range workflowEvents() {
		if _, err := goD.Dispatch(ctx, ev); err != nil {
			t.Fatalf("Go partner: %v", err)
		}
		rep, err := svc.Dispatcher.Dispatch(ctx, ev)
		if err != nil {
			t.Fatalf("config partner: %v", err)
		}
		if rep.Results[0].Status != synclayer.StatusSynced {
			t.Fatalf("config partner: status %v", rep.Results[0].Status)
		}
	}
	got, want := cfgSide.all(), goSide.all()
	if len(want) != 3 {
		t.Fatalf("Go partner got %d requests, want 3", len(want))
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests differ:\nconfig:\n%s\n\nGo:\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
	}
}

// A planted secret never appears in an error, a log line, a preview or a
// report, even when the partner echoes it back.
func TestPlantedSecretNeverShows(t *testing.T) {
	ctx := context.Background()
	partner := &recorder{status: http.StatusBadRequest}
	srv := httptest.NewServer(partner)
	defer srv.Close()
	cfg, err := config.Parse("records.yaml", fmt.Appendf(nil, recordsConfig, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := config.Build(ctx, cfg, config.WithLookupEnv(env), config.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(ctx)
	if !slices.Contains(svc.Secrets(), plantedKey) {
		t.Fatal("the secret was not resolved")
	}
	var seen []string
	ev := workflowEvents()[0]
	rep, err := svc.Dispatcher.Dispatch(ctx, ev)
	if err == nil {
		t.Fatal("the partner refused, yet Dispatch succeeded")
	}
	if reqs := partner.all(); len(reqs) == 0 || !strings.Contains(reqs[0], plantedKey) {
		t.Fatal("the partner did not receive the secret, so the test proves nothing")
	}
	seen = append(seen, err.Error(), fmt.Sprintf("%+v", rep), logs.String())
	pv, _ := json.Marshal(cfg.Preview(ctx, ev))
	seen = append(seen, string(pv), fmt.Sprintf("%+v %#v", cfg, cfg.Partners))

	// Build errors that hold a secret: a DSN with a password, refused.
	bad := `
store: {kind: postgres, dsn: "${env:DSN}"}
partners:
  - name: r
    kind: rest
    settings: {baseUrl: "http://127.0.0.1:1"}
    routes: {A: {key: data.id, record: data}}
`
	badCfg, err := config.Parse("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Build(ctx, badCfg, config.WithLookupEnv(func(string) (string, bool) {
		return "postgres://postgres:" + plantedKey + "@127.0.0.1:1/test?connect_timeout=2", true
	}))
	if err == nil {
		t.Fatal("Build with an unreachable store succeeded")
	}
	seen = append(seen, err.Error())
	for i, s := range seen {
		if strings.Contains(s, plantedKey) {
			t.Errorf("output %d shows the secret: %s", i, s)
		}
	}
}

// A header resolved from a reference is kept out of the error and the
// log for every HTTP kind that sends headers, webhook included, even when
// the partner echoes it back.
func TestSecretHeaderNeverShows(t *testing.T) {
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for _, kind := range []string{"rest", "webhook"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			partner := &recorder{status: http.StatusBadRequest}
			srv := httptest.NewServer(partner)
			defer srv.Close()
			settings := fmt.Sprintf(`{baseUrl: %q, headers: {X-Tenant: "${env:RECORDS_KEY}"}}`, srv.URL)
			if kind == "webhook" {
				settings = fmt.Sprintf(`{url: %q, secrets: ["${env:WH}"], headers: {X-Tenant: "${env:RECORDS_KEY}"}}`, srv.URL)
			}
			cfg, err := config.Parse("p.yaml", []byte(`
partners:
  - name: p
    kind: `+kind+`
    settings: `+settings+`
    retry: {maxAttempts: 1}
    routes:
      WorkflowDeployed: {key: data.workflowId, record: data}
`))
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			svc, err := config.Build(ctx, cfg, config.WithLogger(logger), config.WithLookupEnv(func(n string) (string, bool) {
				if n == "WH" {
					return whsec, true
				}
				return env(n)
			}))
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close(ctx)
			_, err = svc.Dispatcher.Dispatch(ctx, workflowEvents()[0])
			if reqs := partner.all(); len(reqs) == 0 || !strings.Contains(reqs[0], plantedKey) {
				t.Fatal("the partner did not receive the secret, so the test proves nothing")
			}
			if err == nil || !strings.Contains(err.Error(), "X-Tenant") {
				t.Fatalf("Dispatch = %v, want the partner's refusal echoing X-Tenant", err)
			}
			for i, s := range []string{err.Error(), logs.String()} {
				if strings.Contains(s, plantedKey) {
					t.Errorf("output %d shows the secret header: %s", i, s)
				}
			}
		})
	}
}

// An unresolved secret is an error at Build that names the place of the
// reference.
func TestUnresolvedSecret(t *testing.T) {
	cfg, err := config.Parse("records.yaml", fmt.Appendf(nil, recordsConfig, "http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Build(context.Background(), cfg, config.WithLookupEnv(func(string) (string, bool) { return "", false }))
	var ce *config.Error
	if err == nil || !errorsAs(err, &ce) {
		t.Fatalf("got %v, want a *config.Error", err)
	}
	if ce.Line != 9 || ce.Column != 20 || ce.Path != `partners[0].settings.headers.X-Api-Key` || !strings.Contains(ce.Msg, "${env:RECORDS_KEY} is not resolved") {
		t.Errorf("got %v", err)
	}
}

// The monitor's token: a request without it, or with a wrong one, is
// refused with 401 and a Bearer challenge (not 403); the scheme matches in
// any case; a token that is a prefix or an extension of the right one is
// refused.
func TestMonitorBearerToken(t *testing.T) {
	src := "http: {addr: \"127.0.0.1:0\"}\nmonitor: {token: \"${env:MON_TOKEN}\"}\n" + fmt.Sprintf(recordsConfig, "http://127.0.0.1:1")
	cfg, err := config.Parse("mon.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(n string) (string, bool) {
		if n == "MON_TOKEN" {
			return "s3cret", true
		}
		return env(n)
	}
	svc, err := config.Build(context.Background(), cfg, config.WithLookupEnv(lookup), config.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Bearer s3cre", 401}, {"Bearer s3crett", 401},
		{"Bearer", 401}, {"Bearer ", 401}, {"Basic s3cret", 401}, {"s3cret", 401},
		{"Bearer s3cret", 200}, {"bearer s3cret", 200}, {"BEARER s3cret", 200},
	} {
		req := httptest.NewRequest("GET", "http://localhost/api/status", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		svc.Monitor.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Authorization %q: %d %s, want %d", c.auth, rec.Code, rec.Body, c.want)
		}
		challenge := rec.Header().Get("WWW-Authenticate")
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate %q, want a Bearer challenge", c.auth, challenge)
		}
		if c.want == http.StatusOK && challenge != "" {
			t.Errorf("Authorization %q: WWW-Authenticate %q on a 200", c.auth, challenge)
		}
	}
}

// A caldav partner's credentials go to the collection's host only: a
// redirect to another host is followed without them.
func TestCalDAVCredentialsStayOnCollectionHost(t *testing.T) {
	ctx := context.Background()
	other := &recorder{status: http.StatusNotFound}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	// Another host for the client: localhost instead of 127.0.0.1.
	otherURL := strings.Replace(otherSrv.URL, "127.0.0.1", "localhost", 1)
	var mu sync.Mutex
	var collectionAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		collectionAuth = append(collectionAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	svc := buildTest(t, "cal.yaml", []byte(`
partners:
  - name: cal
    kind: caldav
    settings: {collectionUrl: "`+srv.URL+`/cal/", token: "${env:RECORDS_KEY}"}
    retry: {maxAttempts: 1}
    routes:
      A: {key: data.id, record: {summary: data.id, start: event.time}}
`))
	if _, err := svc.Dispatcher.Dispatch(ctx, synclayer.Event{ID: "e1", Type: "A", Time: time.Now(), Data: []byte(`{"id":"k1"}`)}); err == nil {
		t.Fatal("Dispatch succeeded against a collection that only redirects to a 404")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(collectionAuth) == 0 || collectionAuth[0] != "Bearer "+plantedKey {
		t.Fatalf("the collection got Authorization %q, want the bearer token", collectionAuth)
	}
	reqs := other.all()
	if len(reqs) == 0 {
		t.Fatal("the redirect was not followed, so the test proves nothing")
	}
	for _, r := range reqs {
		if strings.Contains(r, "Authorization") || strings.Contains(r, plantedKey) {
			t.Errorf("the redirect target got the credentials:\n%s", r)
		}
	}
}
