package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// partners are the three fake partner systems, each on a free port of
// 127.0.0.1.
type partners struct {
	calendar *calendartest.Fake
	gis      *arcgistest.Layer
	records  *records
	stops    []func()
	env      map[string]string // the addresses sync.yaml refers to, and the GIS token
}

// startPartners serves the fakes and names their addresses by the
// variables sync.yaml refers to.
func startPartners() (*partners, error) {
	p := &partners{calendar: calendartest.New(), records: newRecords("records"),
		gis: arcgistest.NewLayer("WORKFLOW_ID", arcgistest.RequireToken("demo-token"))}
	urls := make([]string, 3)
	for i, h := range []http.Handler{p.calendar, p.gis, p.records} {
		u, stop, err := serve(h)
		if err != nil {
			p.close()
			return nil, err
		}
		urls[i] = u
		p.stops = append(p.stops, stop)
	}
	p.env = map[string]string{
		"CALENDAR_ENDPOINT": urls[0] + "/",
		"GIS_LAYER_URL":     urls[1] + "/arcgis/rest/services/Workflows/FeatureServer/0",
		"RECORDS_URL":       urls[2],
		"GIS_TOKEN":         "demo-token", // in production: a secret from the environment or a file
	}
	return p, nil
}

func (p *partners) close() {
	for _, stop := range p.stops {
		stop()
	}
}

// lookupEnv resolves the references of sync.yaml to the fakes.
func (p *partners) lookupEnv(name string) (string, bool) {
	v, ok := p.env[name]
	return v, ok
}

// describe says what each partner holds.
func (p *partners) describe() string {
	var b bytes.Buffer
	evs := p.calendar.Events("ops")
	fmt.Fprintf(&b, "  calendar  %d event(s)\n", len(evs))
	for _, ev := range evs {
		fmt.Fprintf(&b, "            %s %q %s..%s (%s)\n", ev.ExtendedProperties.Private[googlecalendar.PropertyKey], ev.Summary, ev.Start.Date, ev.End.Date, ev.Status)
	}
	fs := p.gis.Features()
	fmt.Fprintf(&b, "  gis       %d feature(s)\n", len(fs))
	for _, f := range fs {
		fmt.Fprintf(&b, "            OBJECTID %d %s %s starts %s\n", f.ObjectID, f.Attributes["WORKFLOW_ID"], f.Attributes["NAME"], f.Attributes["START_DATE"])
	}
	b.WriteString(p.records.describe())
	return b.String()
}

// serve runs h on a free port of 127.0.0.1 and returns its base URL and a
// function that stops it.
func serve(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// records is the records database: a small records API that keeps JSON
// documents by path, answers PUT (upsert) and DELETE, and can be told to
// fail the next few writes with 503 Service Unavailable, as a busy partner
// would.
type records struct {
	name   string
	mu     sync.Mutex
	docs   map[string]json.RawMessage
	writes int
	fail   int
}

func newRecords(name string) *records {
	return &records{name: name, docs: map[string]json.RawMessage{}}
}

func (p *records) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 && r.Method != http.MethodGet {
		p.fail--
		w.Header().Set("Retry-After", "0")
		http.Error(w, "partner busy, try again", http.StatusServiceUnavailable)
		return
	}
	switch r.Method {
	case http.MethodPut:
		if !json.Valid(body) {
			http.Error(w, "body is not JSON", http.StatusBadRequest)
			return
		}
		p.writes++
		_, existed := p.docs[r.URL.Path]
		p.docs[r.URL.Path] = body
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodDelete:
		p.writes++
		delete(p.docs, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// failNext makes the next n writes answer 503.
func (p *records) failNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = n
}

// describe says what the partner holds, one line per record.
func (p *records) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	paths := make([]string, 0, len(p.docs))
	for path := range p.docs {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	var b strings.Builder
	fmt.Fprintf(&b, "  %-9s %d record(s), %d write(s) so far\n", p.name, len(p.docs), p.writes)
	for _, path := range paths {
		fmt.Fprintf(&b, "            %s %s\n", path, p.docs[path])
	}
	return b.String()
}
