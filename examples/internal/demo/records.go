package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Records is a fake records API: it keeps JSON documents by path, answers
// PUT (upsert), DELETE and GET, and can be told to fail the next few
// writes with 503 Service Unavailable, as a busy partner would. It is safe
// for concurrent use.
type Records struct {
	name   string
	mu     sync.Mutex
	docs   map[string]json.RawMessage
	writes int
	fail   int
}

// NewRecords returns an empty records API; name labels it in [Records.Describe].
func NewRecords(name string) *Records {
	return &Records{name: name, docs: map[string]json.RawMessage{}}
}

// ServeHTTP answers the records API's requests.
func (p *Records) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	case http.MethodGet:
		doc, ok := p.docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
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

// FailNext makes the next n writes answer 503.
func (p *Records) FailNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = n
}

// Describe says what the records API holds, one line per record, after a
// line with its name, its count of records and of writes so far.
func (p *Records) Describe() string {
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
