package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Connector calls a SOAP endpoint for each record. Create it with [New].
// It is safe for concurrent use.
type Connector struct {
	cfg     Config
	client  httpx.Client
	header  http.Header
	classes httpx.Classifier
	owned   map[string]bool // Config.OwnedFields
}

// New validates cfg and returns a connector.
func New(cfg Config) (*Connector, error) {
	cfg.Header = cfg.Header.Clone()
	cfg.OwnedFields = slices.Clone(cfg.OwnedFields)
	if cfg.Security != nil {
		sec := *cfg.Security
		cfg.Security = &sec
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Connector{cfg: cfg, header: httpx.MergeHeader(nil, cfg.Header), client: httpx.NewClient(cfg.Client, cfg.Concurrency, nil)}
	c.owned = map[string]bool{}
	for _, n := range cfg.OwnedFields {
		c.owned[n] = true
	}
	c.classes = httpx.Classifier{Prefix: "soap", SecretHeaders: cfg.SecretHeaders}
	if cfg.Security != nil && cfg.Security.Password != "" {
		c.classes.Secrets = []string{cfg.Security.Password}
	}
	return c, nil
}

// Close releases the idle connections of a client built by [New].
func (c *Connector) Close() error {
	return c.client.Close()
}

// Envelope returns the request envelope of rec, as Sync would send it
// (with a fresh nonce when the UsernameToken uses a digest).
func (c *Connector) Envelope(rec synclayer.Record) ([]byte, error) {
	content := rec.Payload
	if rec.Delete && content == nil {
		if c.cfg.DeleteBody == nil {
			return nil, fmt.Errorf("soap: %w: a delete needs a Payload or Config.DeleteBody", partner.ErrPayload)
		}
		content = c.cfg.DeleteBody(rec.Key, rec.Version)
	}
	if content == nil {
		return nil, fmt.Errorf("soap: %w: no payload (nil)", partner.ErrPayload)
	}
	env, err := buildEnvelope(c.cfg.Version, c.cfg.Security, content, c.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("soap: %w: %s", partner.ErrPayload, c.classes.Redact(nil, err.Error()))
	}
	if len(env) > c.cfg.MaxPayloadBytes {
		return nil, fmt.Errorf("soap: %w: envelope of %d bytes, over the limit of %d", partner.ErrPayload, len(env), c.cfg.MaxPayloadBytes)
	}
	return env, nil
}

// Sync POSTs the envelope of rec: Record.Payload marshalled with
// encoding/xml as the Body's content (for a delete, the Payload or
// Config.DeleteBody), with the version's Content-Type and action.
// A response whose Body holds a Fault is judged by the fault, whatever its
// HTTP status: Server and Receiver faults are retried, others permanent.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	env, err := c.Envelope(rec)
	if err != nil {
		return synclayer.Permanent(err)
	}
	action := c.cfg.Action
	if rec.Delete {
		action = c.cfg.DeleteAction
	}
	_, _, _, err = c.exchange(ctx, action, env)
	return err
}

// exchange POSTs the envelope env with action and classifies the answer
// as the package doc says. On success it returns the request, the
// response (its body closed) and the part of the body that holds the
// envelope (see rootPart), read from up to MaxResponseBytes+1 bytes of
// the body: more than MaxResponseBytes means the body was longer, and
// cut.
func (c *Connector) exchange(ctx context.Context, action string, env []byte) (*http.Request, *http.Response, envelopePart, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(env))
	if err != nil {
		return nil, nil, envelopePart{}, synclayer.Permanent(errors.New("soap: build request: invalid URL"))
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.cfg.Version == SOAP12 {
		ct := "application/soap+xml; charset=utf-8"
		if action != "" {
			ct += `; action="` + action + `"`
		}
		req.Header.Set("Content-Type", ct)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, envelopePart{}, c.classes.Check(req, resp, err)
	}
	if resp.Request != nil && resp.Request.Method != req.Method {
		return nil, nil, envelopePart{}, c.classes.Check(req, resp, nil) // a redirect turned the POST into a GET
	}
	body, rerr := httpx.ReadBody(resp, int64(c.cfg.MaxResponseBytes)+1)
	part := rootPart(resp.Header.Get("Content-Type"), body, len(body) > c.cfg.MaxResponseBytes)
	f := parseFault(part.body, part.contentType, part.cut)
	switch {
	case f != nil && f.Code != unparsable:
		kind := partner.ErrRejected
		if f.Retryable() {
			kind = partner.ErrUnavailable
		}
		return nil, nil, envelopePart{}, httpx.Wrap(c.classes.New(req, resp, nil, kind, f))
	case rerr != nil:
		// Cut short: the partner may or may not have applied the call.
		return nil, nil, envelopePart{}, c.classes.Network(req, fmt.Errorf("reading the %s response: %w", resp.Status, rerr))
	case f != nil && resp.StatusCode/100 == 2:
		// A fault we cannot read in a success status: not a success.
		return nil, nil, envelopePart{}, httpx.Wrap(c.classes.New(req, resp, body, partner.ErrRejected, f))
	}
	if err := c.classes.Response(req, resp, body); err != nil {
		return nil, nil, envelopePart{}, err
	}
	if err := notEnvelope(resp.StatusCode, resp.Header.Get("Content-Type"), part); err != nil {
		// Not the partner's answer (a proxy's page, nothing at all): the
		// call may or may not have been applied, and an upsert by key can
		// be sent again.
		return nil, nil, envelopePart{}, httpx.Wrap(c.classes.New(req, resp, body, partner.ErrUnavailable, err))
	}
	return req, resp, part, nil
}
