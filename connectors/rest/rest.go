package rest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Connector pushes records to a REST records API. Create it with [New]. It
// is safe for concurrent use.
type Connector struct {
	cfg     Config
	base    string // BaseURL without a trailing slash
	prefix  string // Path before {key}
	suffix  string // Path after {key}
	header  http.Header
	client  httpx.Client
	classes httpx.Classifier
	owned   fieldSet // Config.OwnedFields
	fold    fieldSet // Config.FoldCase
}

// New validates cfg and returns a connector. Errors name the bad field.
func New(cfg Config) (*Connector, error) {
	cfg.Header = cfg.Header.Clone()
	cfg.SecretHeaders = append([]string(nil), cfg.SecretHeaders...)
	cfg.OwnedFields = append([]string(nil), cfg.OwnedFields...)
	cfg.FoldCase = append([]string(nil), cfg.FoldCase...)
	prefix, suffix, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Connector{
		cfg:    cfg,
		base:   strings.TrimSuffix(cfg.BaseURL, "/"),
		prefix: prefix,
		suffix: suffix,
		client: httpx.NewClient(cfg.Client, cfg.Concurrency, nil),
		classes: httpx.Classifier{
			Prefix:        "rest",
			SecretHeaders: cfg.SecretHeaders,
		},
		owned: newFieldSet(cfg.OwnedFields),
		fold:  newFieldSet(cfg.FoldCase),
	}
	c.header = httpx.MergeHeader(http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"application/json"},
	}, cfg.Header)
	return c, nil
}

// NewClient returns an http.Client for a partner called with up to
// concurrency requests at once: a clone of http.DefaultTransport whose
// pool holds concurrency connections per host, all kept when idle
// (MaxIdleConnsPerHost and MaxConnsPerHost both set to concurrency, so a
// burst never dials connections the pool cannot keep). When
// http.DefaultTransport was replaced by a RoundTripper that is not an
// *http.Transport (httpmock does that), the client uses the replacement as
// it is. It has no overall timeout; the dispatcher bounds each attempt
// through the context.
func NewClient(concurrency int) *http.Client {
	if concurrency < 1 {
		concurrency = httpx.DefaultConcurrency
	}
	tr, _ := httpx.NewTransport(concurrency)
	return &http.Client{Transport: tr}
}

// Close releases the idle connections of a client built by [New]; a
// caller's client is left alone. The connector stays usable.
func (c *Connector) Close() error {
	return c.client.Close()
}

// URL returns the URL of the record key: the template with the key escaped
// as one path segment.
func (c *Connector) URL(key string) (string, error) {
	if key == "." || key == ".." {
		return "", fmt.Errorf("%w: %q is a dot segment", ErrKey, key)
	}
	return c.base + c.prefix + url.PathEscape(key) + c.suffix, nil
}

// IdempotencyKey returns the Idempotency-Key header value of rec: a hash of
// the connector name, the key, the operation and the version, so retries
// and redeliveries of one change share it and different changes never do.
// An unversioned record (Version 0) uses its event ID instead of the
// version.
func (c *Connector) IdempotencyKey(rec synclayer.Record) string {
	return "sl1-" + keyid.Change(c.cfg.Name, rec)
}

// Sync upserts rec (Method on the key's URL with the payload as JSON) or,
// when rec.Delete is set, deletes it (DELETE; a 404 or 410 counts as done).
// Errors are classified as the package doc says.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	target, body, err := c.request(rec)
	if err != nil {
		return err
	}
	return c.write(ctx, target, rec.Delete, body, c.IdempotencyKey(rec), nil)
}

// request gives the URL of rec's key and, unless rec.Delete is set, the
// JSON body of its payload: what Sync and Repair write. Its errors are
// permanent.
func (c *Connector) request(rec synclayer.Record) (target string, body []byte, err error) {
	if target, err = c.URL(rec.Key); err != nil {
		return "", nil, synclayer.Permanent(err)
	}
	if !rec.Delete {
		if body, err = c.body(rec.Payload); err != nil {
			return "", nil, synclayer.Permanent(err)
		}
	}
	return target, body, nil
}

// write sends the upsert of body (or, with del, the delete) to target,
// with the Idempotency-Key idem and the headers cond sets (nil for none),
// and classifies the outcome.
func (c *Connector) write(ctx context.Context, target string, del bool, body []byte, idem string, cond func(http.Header)) error {
	method := c.cfg.Method
	if del {
		method = http.MethodDelete
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	} else {
		req, err = http.NewRequestWithContext(ctx, method, target, nil)
	}
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("rest: build request: %s", c.classes.Redact(nil, err.Error())))
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if del {
		req.Header.Del("Content-Type")
	}
	req.Header.Set("Idempotency-Key", idem)
	if cond != nil {
		cond(req.Header)
	}

	resp, err := c.client.Do(req)
	if del && err == nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone) &&
		(resp.Request == nil || resp.Request.Method == http.MethodDelete) {
		httpx.Discard(resp)
		return nil
	}
	if err := c.classes.Check(req, resp, err); err != nil {
		return err
	}
	// Read the success body to its end so the connection is reused. A body
	// cut short leaves it unknown whether the partner finished: retry (the
	// write is an idempotent upsert).
	if err := httpx.Discard(resp); err != nil {
		return c.classes.Network(req, fmt.Errorf("reading the %s response: %w", resp.Status, err))
	}
	return nil
}

// body encodes a payload: json.RawMessage and []byte are sent as they are
// if they hold valid JSON; anything else goes through encoding/json.
func (c *Connector) body(p any) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("rest: %w: no payload (nil)", partner.ErrPayload)
	}
	b, err := httpx.JSONBody(p, c.cfg.MaxPayloadBytes)
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	return b, nil
}
