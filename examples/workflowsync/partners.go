package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
)

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

// partner is the records database: a small records API that keeps JSON
// documents by path, answers PUT (upsert) and DELETE, and can be told to
// fail the next few writes with 503 Service Unavailable, as a busy partner
// would.
type partner struct {
	name   string
	mu     sync.Mutex
	docs   map[string]json.RawMessage
	writes int
	fail   int
}

func newPartner(name string) *partner {
	return &partner{name: name, docs: map[string]json.RawMessage{}}
}

func (p *partner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
func (p *partner) failNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = n
}

// describe says what the partner holds, one line per record.
func (p *partner) describe() string {
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
