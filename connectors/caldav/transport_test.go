package caldav_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
)

// transport wraps the client's transport: it logs requests and misbehaves
// on demand, standing in for a flaky network or server.
type transport struct {
	next http.RoundTripper

	mu     sync.Mutex
	log    reqlog.Log // "METHOD status" per request
	faults []fault
}

// fault makes one matching request misbehave.
type fault struct {
	method string // "" for any
	// status answers with this status without reaching the server.
	status int
	header http.Header
	// lost forwards the request, then reports a broken connection.
	lost bool
	// stall holds the request until its context ends.
	stall bool
	// before runs before the request is forwarded (a concurrent edit).
	before func()
}

var errConnReset = errors.New("connection reset by peer (injected)")

func (tr *transport) inject(f ...fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults = append(tr.faults, f...)
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	var f *fault
	for i, fl := range tr.faults {
		if fl.method == "" || fl.method == r.Method {
			f = &fl
			tr.faults = slices.Delete(tr.faults, i, i+1)
			break
		}
	}
	tr.mu.Unlock()
	record := func(s string) { tr.log.Add(r.Method + " " + s) }
	if f != nil {
		switch {
		case f.stall:
			<-r.Context().Done()
			record("stalled")
			return nil, r.Context().Err()
		case f.status != 0:
			if r.Body != nil {
				r.Body.Close()
			}
			record(strconv.Itoa(f.status) + "(injected)")
			h := f.header.Clone()
			if h == nil {
				h = http.Header{}
			}
			return &http.Response{StatusCode: f.status, Status: strconv.Itoa(f.status) + " " + http.StatusText(f.status), Header: h,
				Body: io.NopCloser(strings.NewReader("injected")), Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
		case f.before != nil:
			f.before()
		}
	}
	resp, err := tr.next.RoundTrip(r)
	if err != nil {
		record("error")
		return resp, err
	}
	record(strconv.Itoa(resp.StatusCode))
	if f != nil && f.lost {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errConnReset
	}
	return resp, nil
}
