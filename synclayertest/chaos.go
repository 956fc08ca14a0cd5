package synclayertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
	"github.com/hmsplatform/synclayer/internal/enum"
)

// ChaosFault is one kind of fault a [ChaosServer] or [ChaosTransport]
// injects into an HTTP exchange with a partner.
type ChaosFault int

// The faults, in the order the rates of a [Chaos] are laid out on the
// unit interval.
const (
	// ChaosNone: the exchange passed through untouched.
	ChaosNone ChaosFault = iota
	// ChaosServerError: a 500, 502, 503 or 504 answered in the partner's
	// place; the partner never saw the request.
	ChaosServerError
	// ChaosRateLimited: a 429 with a Retry-After header, in seconds or as an
	// HTTP-date (chosen by the seed); the partner never saw the request.
	ChaosRateLimited
	// ChaosResetBefore: the connection is reset before the partner saw the
	// request.
	ChaosResetBefore
	// ChaosLostResponse: the partner handled the request (and applied the
	// write), then the connection is reset before the response goes out.
	ChaosLostResponse
	// ChaosStall: no answer until the request's context ends (the client's
	// attempt timeout) or Chaos.StallFor passes, whichever is first; the
	// partner never saw the request.
	ChaosStall
	// ChaosSlowBody: the partner handled the request; its response body
	// trickles out in small chunks with pauses.
	ChaosSlowBody
	// ChaosTruncatedBody: the partner handled the request; its response body
	// is cut in half (the declared length stays), so the client reads an
	// unexpected EOF.
	ChaosTruncatedBody
	// ChaosErrorBody: a 200 whose body is Chaos.ErrorBodyContent, the way
	// ArcGIS reports errors; the partner never saw the request.
	ChaosErrorBody

	numChaosFaults
)

var chaosNames = enum.Names{Type: "ChaosFault", Names: []string{ChaosNone: "none", ChaosServerError: "server-error",
	ChaosRateLimited: "rate-limited", ChaosResetBefore: "reset-before", ChaosLostResponse: "lost-response",
	ChaosStall: "stall", ChaosSlowBody: "slow-body", ChaosTruncatedBody: "truncated-body", ChaosErrorBody: "error-body"}}

// String returns the fault's name, such as "lost-response", or
// "ChaosFault(n)" for an unknown value.
func (f ChaosFault) String() string { return chaosNames.String(int(f)) }

// MarshalText encodes the fault as its name; an unknown value is an error.
func (f ChaosFault) MarshalText() ([]byte, error) { return chaosNames.MarshalText(int(f)) }

// UnmarshalText decodes a fault's name; anything else is an error.
func (f *ChaosFault) UnmarshalText(b []byte) error { return enum.Decode(chaosNames, b, f) }

// DefaultChaosErrorBody is the body of a [ChaosErrorBody] fault when
// Chaos.ErrorBodyContent is nil: an ArcGIS error object with a retryable
// code.
const DefaultChaosErrorBody = `{"error":{"code":503,"message":"synclayertest: chaos: service busy","details":[]}}`

// Chaos configures a [ChaosServer] or a [ChaosTransport]: the rate of each
// fault, as a probability per exchange between 0 and 1, and how each fault
// behaves. The rates must not add up to more than 1; the rest of the
// exchanges pass through. The zero value injects nothing.
//
// Every decision is drawn from a math/rand/v2 PCG generator seeded with
// Seed, one draw per eligible exchange, so a run can be replayed: the n-th
// eligible exchange meets the same fault with the same seed. Exchanges that
// run concurrently reach the generator in a scheduling-dependent order; to
// replay a failure exactly, replay it with one exchange at a time.
type Chaos struct {
	// Seed seeds the decisions. Log it, so a failing run can be replayed.
	Seed uint64

	// Rates of the faults, each in [0, 1].
	ServerError   float64
	RateLimited   float64
	ResetBefore   float64
	LostResponse  float64
	Stall         float64
	SlowBody      float64
	TruncatedBody float64
	// ErrorBody answers 200 with ErrorBodyContent. Use it only for partners
	// whose protocol reports errors inside a 200 (ArcGIS): to any other
	// client the fault looks like a success.
	ErrorBody float64

	// RetryAfter is the delay a [ChaosRateLimited] answer asks for (default
	// 1s). In the seconds form it is rounded up to whole seconds; the
	// HTTP-date form has one-second precision too, so a client may compute
	// anything from 0 to RetryAfter+1s from it.
	RetryAfter time.Duration

	// StallFor bounds a [ChaosStall] (default 10s); after it, the server
	// answers 503 and the transport returns an error wrapping
	// os.ErrDeadlineExceeded.
	StallFor time.Duration

	// SlowBodyChunk and SlowBodyDelay shape a [ChaosSlowBody]: the body is
	// written (or read) SlowBodyChunk bytes at a time (default 16) with
	// SlowBodyDelay between chunks (default 5ms).
	SlowBodyChunk int
	SlowBodyDelay time.Duration

	// ErrorBodyContent is the body of a [ChaosErrorBody] (default
	// [DefaultChaosErrorBody]), sent with Content-Type application/json.
	ErrorBodyContent []byte

	// Match, if set, selects the exchanges eligible for faults; the others
	// pass through without a draw. Nil makes every exchange eligible.
	Match func(*http.Request) bool
}

func (c *Chaos) rates() [numChaosFaults]float64 {
	return [numChaosFaults]float64{
		ChaosServerError:   c.ServerError,
		ChaosRateLimited:   c.RateLimited,
		ChaosResetBefore:   c.ResetBefore,
		ChaosLostResponse:  c.LostResponse,
		ChaosStall:         c.Stall,
		ChaosSlowBody:      c.SlowBody,
		ChaosTruncatedBody: c.TruncatedBody,
		ChaosErrorBody:     c.ErrorBody,
	}
}

// validate checks the rates and fills in the defaults.
func (c Chaos) validate() (Chaos, error) {
	sum := 0.0
	for f, r := range c.rates() {
		if r < 0 || r > 1 || math.IsNaN(r) {
			return c, fmt.Errorf("synclayertest: chaos: rate of %s is %v, not in [0, 1]", ChaosFault(f), r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return c, fmt.Errorf("synclayertest: chaos: the rates add up to %v, more than 1", sum)
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.StallFor <= 0 {
		c.StallFor = 10 * time.Second
	}
	if c.SlowBodyChunk <= 0 {
		c.SlowBodyChunk = 16
	}
	if c.SlowBodyDelay <= 0 {
		c.SlowBodyDelay = 5 * time.Millisecond
	}
	if c.ErrorBodyContent == nil {
		c.ErrorBodyContent = []byte(DefaultChaosErrorBody)
	}
	return c, nil
}

// ChaosCounts counts the exchanges a [ChaosServer] or [ChaosTransport]
// saw, and the faults it injected.
type ChaosCounts struct {
	Requests      int64 // every exchange, eligible or not
	Passed        int64 // exchanges that met no fault
	ServerError   int64
	RateLimited   int64
	ResetBefore   int64
	LostResponse  int64
	Stall         int64
	SlowBody      int64
	TruncatedBody int64
	ErrorBody     int64
}

// Faults returns the number of injected faults.
func (c ChaosCounts) Faults() int64 {
	return c.ServerError + c.RateLimited + c.ResetBefore + c.LostResponse + c.Stall + c.SlowBody + c.TruncatedBody + c.ErrorBody
}

// Add returns the sum of c and o.
func (c ChaosCounts) Add(o ChaosCounts) ChaosCounts {
	return ChaosCounts{
		Requests: c.Requests + o.Requests, Passed: c.Passed + o.Passed,
		ServerError: c.ServerError + o.ServerError, RateLimited: c.RateLimited + o.RateLimited,
		ResetBefore: c.ResetBefore + o.ResetBefore, LostResponse: c.LostResponse + o.LostResponse,
		Stall: c.Stall + o.Stall, SlowBody: c.SlowBody + o.SlowBody,
		TruncatedBody: c.TruncatedBody + o.TruncatedBody, ErrorBody: c.ErrorBody + o.ErrorBody,
	}
}

// String reports the counts on one line, faults that did not occur left
// out: "requests=120 passed=80 server-error=25 lost-response=15".
func (c ChaosCounts) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d passed=%d", c.Requests, c.Passed)
	for _, f := range []struct {
		f ChaosFault
		n int64
	}{{ChaosServerError, c.ServerError}, {ChaosRateLimited, c.RateLimited}, {ChaosResetBefore, c.ResetBefore},
		{ChaosLostResponse, c.LostResponse}, {ChaosStall, c.Stall}, {ChaosSlowBody, c.SlowBody},
		{ChaosTruncatedBody, c.TruncatedBody}, {ChaosErrorBody, c.ErrorBody}} {
		if f.n != 0 {
			fmt.Fprintf(&b, " %s=%d", f.f, f.n)
		}
	}
	return b.String()
}

// dice draws the faults and counts them. It is shared by the server and
// the transport.
type dice struct {
	cfg      Chaos
	cum      [numChaosFaults]float64 // cumulative upper bounds, ChaosNone unused
	mu       sync.Mutex
	rng      *rand.Rand
	requests atomic.Int64
	counts   [numChaosFaults]atomic.Int64
	stop     chan struct{} // closed by release: ends every stall
	stopOnce sync.Once
}

func newDice(c Chaos) *dice {
	c, err := c.validate()
	if err != nil {
		panic(err)
	}
	d := &dice{cfg: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)), stop: make(chan struct{})}
	acc := 0.0
	for f, r := range c.rates() {
		if f == int(ChaosNone) {
			continue
		}
		acc += r
		d.cum[f] = acc
	}
	return d
}

// roll decides the fault of one exchange and returns a second draw for its
// variant (which 5xx, which Retry-After form).
func (d *dice) roll(r *http.Request) (ChaosFault, uint64) {
	d.requests.Add(1)
	f := ChaosNone
	var variant uint64
	if d.cfg.Match == nil || d.cfg.Match(r) {
		d.mu.Lock()
		x := d.rng.Float64()
		variant = d.rng.Uint64()
		d.mu.Unlock()
		for g := ChaosServerError; g < numChaosFaults; g++ {
			if x < d.cum[g] {
				f = g
				break
			}
		}
	}
	d.counts[f].Add(1)
	return f, variant
}

func (d *dice) snapshot() ChaosCounts {
	n := func(f ChaosFault) int64 { return d.counts[f].Load() }
	return ChaosCounts{
		Requests: d.requests.Load(), Passed: n(ChaosNone),
		ServerError: n(ChaosServerError), RateLimited: n(ChaosRateLimited), ResetBefore: n(ChaosResetBefore),
		LostResponse: n(ChaosLostResponse), Stall: n(ChaosStall), SlowBody: n(ChaosSlowBody),
		TruncatedBody: n(ChaosTruncatedBody), ErrorBody: n(ChaosErrorBody),
	}
}

func (d *dice) release() { d.stopOnce.Do(func() { close(d.stop) }) }

// stall waits until ctx ends, StallFor passes or the dice are released. It
// reports whether StallFor (or a release) ended it rather than ctx.
func (d *dice) stall(ctx context.Context) bool {
	t := time.NewTimer(d.cfg.StallFor)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-d.stop:
	}
	return true
}

var serverErrors = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// retryAfter renders the Retry-After value of a 429: whole seconds, or an
// HTTP-date, as the variant says.
func (d *dice) retryAfter(variant uint64) string {
	if variant&1 == 0 {
		secs := int64((d.cfg.RetryAfter + time.Second - 1) / time.Second)
		return strconv.FormatInt(secs, 10)
	}
	return time.Now().Add(d.cfg.RetryAfter).UTC().Format(http.TimeFormat)
}

// ChaosServer wraps a partner's [http.Handler] and injects faults into the
// exchanges it serves, at the rates of its [Chaos]. Serve it with
// net/http/httptest (HTTP/1.1: the connection resets need
// [http.Hijacker]; without it the exchange is aborted with
// [http.ErrAbortHandler]).
//
// Faults that keep the request from the partner (server errors, 429,
// resets before, stalls, error bodies) never call the wrapped handler;
// the others call it first, with an httptest.ResponseRecorder (so the
// handler must not hijack or stream), and then spoil the delivery of its
// response. A ChaosServer is safe for concurrent use.
type ChaosServer struct {
	h    http.Handler
	dice *dice
}

// NewChaosServer returns h wrapped in the faults of c. It panics if a rate
// of c is outside [0, 1] or the rates add up to more than 1.
func NewChaosServer(h http.Handler, c Chaos) *ChaosServer {
	return &ChaosServer{h: h, dice: newDice(c)}
}

// Counts returns the exchanges served and the faults injected so far.
func (s *ChaosServer) Counts() ChaosCounts { return s.dice.snapshot() }

// Close ends every stall in progress and makes later stalls return at
// once, so that the httptest server can shut down without waiting for
// Chaos.StallFor. Other faults keep being injected.
func (s *ChaosServer) Close() { s.dice.release() }

// ServeHTTP serves r, injecting the fault the dice draw for it.
func (s *ChaosServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, variant := s.dice.roll(r)
	cfg := &s.dice.cfg
	switch f {
	case ChaosNone:
		s.h.ServeHTTP(w, r)
	case ChaosServerError:
		drain(r.Body)
		code := serverErrors[variant%uint64(len(serverErrors))]
		http.Error(w, "synclayertest: chaos: injected "+http.StatusText(code), code)
	case ChaosRateLimited:
		drain(r.Body)
		w.Header().Set("Retry-After", s.dice.retryAfter(variant))
		http.Error(w, "synclayertest: chaos: injected rate limit", http.StatusTooManyRequests)
	case ChaosResetBefore:
		resetConn(w, true)
	case ChaosStall:
		drain(r.Body)
		if s.dice.stall(r.Context()) {
			http.Error(w, "synclayertest: chaos: stalled", http.StatusServiceUnavailable)
		}
	case ChaosErrorBody:
		drain(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(cfg.ErrorBodyContent)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(cfg.ErrorBodyContent)
	default: // the partner handles the request; its response is spoiled
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		switch f {
		case ChaosLostResponse:
			resetConn(w, true)
			return
		case ChaosTruncatedBody:
			if len(body) == 0 || !bodyAllowed(rec.Code) {
				resetConn(w, false) // nothing to cut: lose the response instead
				return
			}
			copyHeader(w.Header(), rec.Header())
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body[:len(body)/2])
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			resetConn(w, false)
		case ChaosSlowBody:
			copyHeader(w.Header(), rec.Header())
			if bodyAllowed(rec.Code) {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.WriteHeader(rec.Code)
			fl, _ := w.(http.Flusher)
			for len(body) > 0 {
				n := min(cfg.SlowBodyChunk, len(body))
				if _, err := w.Write(body[:n]); err != nil {
					return
				}
				body = body[n:]
				if fl != nil {
					fl.Flush()
				}
				if len(body) > 0 && ctxsleep.Sleep(r.Context(), cfg.SlowBodyDelay) != nil {
					return
				}
			}
		}
	}
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified && code >= 200
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = append([]string(nil), v...)
	}
}

// drain reads (a bounded part of) a request body, as a partner that
// answers would.
func drain(body io.Reader) {
	if body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 8<<20))
	}
}

// resetConn takes the connection over and closes it: with an RST when
// reset is set, with a plain close after what was flushed otherwise.
func resetConn(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// errReset is what a [ChaosTransport] returns for a reset connection.
func errReset() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// ChaosTransport is an [http.RoundTripper] that injects faults into the
// exchanges it carries, at the rates of its [Chaos], on the client side:
// put it in the *http.Client given to a connector. Faults that keep the
// request from the partner answer or fail without calling Base; the lost
// response, slow body and truncated body call Base first. A reset is a
// *net.OpError wrapping syscall.ECONNRESET. A ChaosTransport is safe for
// concurrent use.
type ChaosTransport struct {
	base http.RoundTripper
	dice *dice
}

// NewChaosTransport returns base (http.DefaultTransport when nil) wrapped
// in the faults of c. It panics if a rate of c is outside [0, 1] or the
// rates add up to more than 1.
func NewChaosTransport(base http.RoundTripper, c Chaos) *ChaosTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &ChaosTransport{base: base, dice: newDice(c)}
}

// Counts returns the exchanges carried and the faults injected so far.
func (t *ChaosTransport) Counts() ChaosCounts { return t.dice.snapshot() }

// Close ends every stall in progress and makes later stalls return at
// once. Other faults keep being injected.
func (t *ChaosTransport) Close() { t.dice.release() }

// RoundTrip carries req, injecting the fault the dice draw for it.
func (t *ChaosTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f, variant := t.dice.roll(req)
	cfg := &t.dice.cfg
	closeBody := func() {
		if req.Body != nil {
			drain(req.Body)
			_ = req.Body.Close()
		}
	}
	switch f {
	case ChaosNone:
		return t.base.RoundTrip(req)
	case ChaosServerError:
		closeBody()
		code := serverErrors[variant%uint64(len(serverErrors))]
		return synthetic(req, code, nil, "text/plain; charset=utf-8", []byte("synclayertest: chaos: injected "+http.StatusText(code)+"\n")), nil
	case ChaosRateLimited:
		closeBody()
		h := http.Header{"Retry-After": {t.dice.retryAfter(variant)}}
		return synthetic(req, http.StatusTooManyRequests, h, "text/plain; charset=utf-8", []byte("synclayertest: chaos: injected rate limit\n")), nil
	case ChaosResetBefore:
		closeBody()
		return nil, errReset()
	case ChaosStall:
		closeBody()
		if !t.dice.stall(req.Context()) {
			return nil, req.Context().Err()
		}
		return nil, fmt.Errorf("synclayertest: chaos: stalled %v: %w", cfg.StallFor, os.ErrDeadlineExceeded)
	case ChaosErrorBody:
		closeBody()
		return synthetic(req, http.StatusOK, nil, "application/json", cfg.ErrorBodyContent), nil
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch f {
	case ChaosLostResponse:
		drain(resp.Body)
		_ = resp.Body.Close()
		return nil, errReset()
	case ChaosTruncatedBody:
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = &truncatedBody{r: bytes.NewReader(body[:len(body)/2])}
		resp.ContentLength = int64(len(body))
		if len(body) == 0 {
			resp.ContentLength = 1
		}
		resp.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	case ChaosSlowBody:
		resp.Body = &slowBody{rc: resp.Body, ctx: req.Context(), chunk: cfg.SlowBodyChunk, delay: cfg.SlowBodyDelay}
	}
	return resp, nil
}

// synthetic makes a response answered in the partner's place.
func synthetic(req *http.Request, code int, h http.Header, ctype string, body []byte) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// truncatedBody yields its bytes and then io.ErrUnexpectedEOF.
type truncatedBody struct{ r *bytes.Reader }

func (b *truncatedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *truncatedBody) Close() error { return nil }

// slowBody reads at most chunk bytes at a time, pausing before each read
// after the first.
type slowBody struct {
	rc      io.ReadCloser
	ctx     context.Context
	chunk   int
	delay   time.Duration
	started bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.started && ctxsleep.Sleep(b.ctx, b.delay) != nil {
		return 0, b.ctx.Err()
	}
	b.started = true
	if len(p) > b.chunk {
		p = p[:b.chunk]
	}
	return b.rc.Read(p)
}

func (b *slowBody) Close() error { return b.rc.Close() }
