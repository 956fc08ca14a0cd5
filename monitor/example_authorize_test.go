package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/monitor"
)

type userKey struct{}

type user struct {
	name  string
	admin bool
}

// requireLogin stands for the service's own authentication middleware: it
// finds the user (here from a bearer token) and puts it in the context.
func requireLogin(next http.Handler) http.Handler {
	users := map[string]user{"Bearer ops-admin": {"ana", true}, "Bearer ops-viewer": {"ben", false}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := users[r.Header.Get("Authorization")]; ok {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		next.ServeHTTP(w, r)
	})
}

// Mount the monitor behind the service's authentication, and let
// WithAuthorize decide who may do what: anyone logged in reads, only
// admins write. A script renews its session with GET api/token and sends
// the token with each write.
func ExampleWithAuthorize() {
	reg := new(synclayer.Registry)
	_ = reg.Register("records", synclayer.ConnectorFunc(func(context.Context, synclayer.Record) error { return nil }),
		synclayer.Route("WorkflowDeployed", synclayer.MapperFunc(func(_ context.Context, ev synclayer.Event) (synclayer.Record, error) {
			return synclayer.Record{Key: ev.Subject}, nil
		})))
	d, err := synclayer.NewDispatcher(reg, synclayer.WithObserver(synclayer.NoObserver))
	if err != nil {
		panic(err)
	}

	mon, err := monitor.New(d, monitor.WithWrites(true), monitor.WithAuthorize(func(r *http.Request) error {
		u, ok := r.Context().Value(userKey{}).(user)
		switch {
		case !ok:
			return monitor.ErrUnauthenticated
		case r.Method != http.MethodGet && r.Method != http.MethodHead && !u.admin:
			return errors.New(u.name + " may only read")
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	defer mon.Close()
	mux := http.NewServeMux()
	mux.Handle("/ops/sync/", requireLogin(http.StripPrefix("/ops/sync", mon)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := srv.Client()
	client.Jar = jar
	call := func(method, path, bearer, token string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/ops/sync/"+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if token != "" {
			req.Header.Set(monitor.TokenHeader, token)
		}
		res, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		tok, _ := body["token"].(string)
		return res.StatusCode, tok
	}

	code, _ := call("GET", "api/status", "", "")
	fmt.Println("status, not logged in:", code)
	code, _ = call("GET", "api/status", "ops-viewer", "")
	fmt.Println("status, viewer:", code)
	_, tok := call("GET", "api/token", "ops-admin", "")
	code, _ = call("POST", "api/connectors/records/pause", "ops-viewer", tok)
	fmt.Println("pause, viewer:", code)
	code, _ = call("POST", "api/connectors/records/pause", "ops-admin", tok)
	fmt.Println("pause, admin:", code)
	fmt.Println("paused:", d.Status()[0].Paused)
	// Output:
	// status, not logged in: 401
	// status, viewer: 200
	// pause, viewer: 403
	// pause, admin: 200
	// paused: true
}
