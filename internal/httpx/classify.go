package httpx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/clip"
)

// MaxDrain bounds how much of an unread body is drained before closing it,
// so a huge body costs a connection rather than a long read.
const MaxDrain = 256 << 10

// Classifier turns HTTP exchanges into classified errors. The zero value
// works (no prefix, default redaction). A Classifier must not be changed
// once in use; it is then safe for concurrent use.
type Classifier struct {
	// Prefix starts every error text: the connector's package name.
	Prefix string
	// SecretHeaders names request headers whose values are secret, beyond
	// Authorization, Proxy-Authorization, Cookie, X-Api-Key and
	// X-Esri-Authorization.
	SecretHeaders []string
	// Secrets are literal values (signing keys, passwords) never to show.
	Secrets []string
	// HidePath shows only scheme and host of URLs, for partners whose URL
	// path itself is a credential (many webhook endpoints).
	HidePath bool
	// Now is the clock for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Check classifies what client.Do(req) returned. It returns nil for a
// 2xx response, whose body the caller then reads and closes (see
// [Discard]). For anything else it closes the body and returns an error
// built as the package doc describes. req may be nil; then the request is
// taken from resp or from the transport error.
//
// A response to a request whose method the client changed while following
// a redirect (a PUT turned into a GET by a 302) is a permanent
// [partner.ErrRejected]: the write did not happen.
func (c *Classifier) Check(req *http.Request, resp *http.Response, err error) error {
	if err != nil {
		if resp != nil {
			Discard(resp)
		}
		return c.Network(req, err)
	}
	if resp == nil {
		return c.Network(req, errors.New("no response and no error"))
	}
	if req == nil {
		req = resp.Request
	}
	if resp.Request != nil && req != nil && resp.Request.Method != req.Method {
		Discard(resp)
		e := c.New(req, resp, nil, partner.ErrRejected,
			fmt.Errorf("redirected to %s %s, the %s was not applied", resp.Request.Method, RedactURL(resp.Request.URL, c.HidePath), req.Method))
		e.Status = ""
		return Wrap(e)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := ReadBody(resp, MaxSnippet+1)
	return c.Response(req, resp, body)
}

// Response classifies a response whose body (or its beginning) the caller
// has read: nil for 2xx, else the error for its status. It does not touch
// resp.Body.
func (c *Classifier) Response(req *http.Request, resp *http.Response, body []byte) error {
	kind := KindOf(resp.StatusCode)
	if kind == nil {
		return nil
	}
	return Wrap(c.New(req, resp, body, kind, nil))
}

// Network classifies a transport error (from client.Do, or from reading a
// body): a retryable [partner.ErrNetwork] wrapping the cause.
func (c *Classifier) Network(req *http.Request, err error) error {
	return Wrap(c.New(req, nil, nil, partner.ErrNetwork, err))
}

// New builds an unwrapped, redacted [partner.Error]. resp, body and cause may be
// nil. Use [Wrap] to classify it. The secrets scrubbed from the status
// text, the body and the cause are those of req, of resp.Request (the
// request as the caller's transport sent it, with any credentials it
// added) and of the classifier; the cause is kept as [Classifier.RedactError]
// returns it.
func (c *Classifier) New(req *http.Request, resp *http.Response, body []byte, kind, cause error) *partner.Error {
	if req == nil && resp != nil {
		req = resp.Request
	}
	e := &partner.Error{Prefix: c.Prefix, Kind: kind}
	var sent *http.Request
	if resp != nil && resp.Request != req {
		sent = resp.Request
	}
	var ue *url.Error
	if errors.As(cause, &ue) {
		e.Method = strings.ToUpper(ue.Op)
		if u, perr := url.Parse(ue.URL); perr == nil {
			e.URL = RedactURL(u, c.HidePath)
		}
		cause = ue.Err
	}
	if req != nil {
		e.Method = req.Method
		if e.Method == "" {
			e.Method = http.MethodGet
		}
		e.URL = RedactURL(req.URL, c.HidePath)
	}
	r := c.newRedactor(req, sent)
	if resp != nil {
		e.StatusCode = resp.StatusCode
		e.Status = strconv.Itoa(resp.StatusCode)
		if _, reason, ok := strings.Cut(resp.Status, " "); ok && strings.TrimSpace(reason) != "" {
			e.Status += " " + r.text(strings.TrimSpace(reason))
		}
		if (kind == partner.ErrRateLimited || kind == partner.ErrUnavailable) && resp.Header != nil {
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
				e.RetryAfter = d
			}
		}
	}
	if len(body) > MaxSnippet && len(r.values) > 0 {
		// The body was cut: a credential may straddle the cut, and its
		// first part would match nothing. Drop as much as the longest.
		body = body[:max(0, len(body)-len(r.values[0]))]
	}
	if len(body) > 0 {
		e.Body = clip.String(strings.TrimSpace(r.text(string(body))), MaxSnippet)
	}
	if cause != nil {
		e.Err = r.cause(cause)
		e.Message = r.text(e.Err.Error())
	}
	return e
}

// Wrap classifies e for the dispatcher: a retryable category stays
// retryable (with a [synclayer.RetryAfter] hint when e.RetryAfter > 0);
// any other is [synclayer.Permanent].
func Wrap(e *partner.Error) error { return Mark(e, e.Retryable(), e.RetryAfter) }

// Mark classifies any connector error for the dispatcher: a permanent
// error is wrapped in [synclayer.Permanent], a retryable one with a wait
// the partner asked for in [synclayer.RetryAfter], and any other retryable
// one is returned as it is.
func Mark(err error, retryable bool, after time.Duration) error {
	switch {
	case !retryable:
		return synclayer.Permanent(err)
	case after > 0:
		return synclayer.RetryAfter(err, after)
	}
	return err
}

func (c *Classifier) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ParseRetryAfter parses a Retry-After value: delay seconds or an
// HTTP-date (any of the three formats http.ParseTime accepts). A date in
// the past gives 0. ok is false for an empty or malformed value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return time.Duration(math.MaxInt64), true
			}
			return 0, false
		}
		if n > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Discard drains (up to [MaxDrain] bytes) and closes resp.Body, so the
// connection can be reused. It returns the read error, if any: a body cut
// short gives io.ErrUnexpectedEOF or the transport's error.
func Discard(resp *http.Response) error {
	if resp == nil || resp.Body == nil {
		return nil
	}
	_, err := io.CopyN(io.Discard, resp.Body, MaxDrain)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if cerr := resp.Body.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// ReadBody reads at most limit bytes of resp.Body, drains the rest (up to
// [MaxDrain]) and closes it. The error is the read error, if any; a body
// longer than limit is not an error, it is cut.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp == nil || resp.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err == nil {
		_, err = io.CopyN(io.Discard, resp.Body, MaxDrain)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if cerr := resp.Body.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return b, err
}
