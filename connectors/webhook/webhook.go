package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

// Message is the JSON body of every webhook, in the shape the Standard
// Webhooks spec recommends (type, timestamp, data) plus the record's
// identity:
//
//	{"type":"WorkflowDeployed","timestamp":"2026-03-10T12:00:00Z",
//	 "eventId":"evt-1","key":"WF-1","version":3,"data":{...}}
//
// Data is Record.Payload encoded as JSON (a json.RawMessage or []byte is
// sent as it is), or the event's own Data when the payload is nil. A
// delete has "deleted":true and no data.
type Message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp,omitzero"`
	EventID   string          `json:"eventId"`
	Key       string          `json:"key"`
	Version   int64           `json:"version,omitempty"`
	Deleted   bool            `json:"deleted,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Connector sends records as signed webhooks. Create it with [New]. It is
// safe for concurrent use.
type Connector struct {
	cfg     Config
	client  httpx.Client
	header  http.Header
	classes httpx.Classifier
}

// New validates cfg and returns a connector.
func New(cfg Config) (*Connector, error) {
	cfg.Header = cfg.Header.Clone()
	cfg.Secrets = append([]string(nil), cfg.Secrets...)
	cfg.SecretHeaders = append([]string(nil), cfg.SecretHeaders...)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Connector{
		cfg: cfg,
		// The spec counts a 3xx as a failure: redirects are not followed.
		client: httpx.NewClient(cfg.Client, cfg.Concurrency, func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }),
		header: httpx.MergeHeader(http.Header{
			"Content-Type": {"application/json"},
			"User-Agent":   {"synclayer-webhook/1"},
		}, cfg.Header),
		classes: httpx.Classifier{Prefix: "webhook", SecretHeaders: cfg.SecretHeaders, Secrets: secretForms(cfg.Secrets), HidePath: true},
	}
	return c, nil
}

// secretForms returns the forms in which the signing secrets may be
// echoed, for redaction: as configured, without the whsec_ prefix (the
// base64 string receiver libraries hold) and, when it is text, the key it
// decodes to.
func secretForms(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s)
		if bare := strings.TrimPrefix(strings.TrimSpace(s), secretPrefix); bare != "" {
			out = append(out, bare)
		}
		if key, err := DecodeSecret(s); err == nil && utf8.Valid(key) {
			out = append(out, string(key))
		}
	}
	return out
}

// Close releases the idle connections of a client built by [New].
func (c *Connector) Close() error {
	return c.client.Close()
}

// MessageID returns the webhook-id of rec: "msg_" and a hash of the
// connector name, the key, the operation and the version (the event ID for
// an unversioned record). Retries and redeliveries of one change share it,
// so the receiver can deduplicate by it, as the spec asks.
func (c *Connector) MessageID(rec synclayer.Record) string {
	return "msg_" + keyid.Change(c.cfg.Name, rec)
}

// Sync POSTs rec as a signed [Message]. Each attempt has a fresh
// webhook-timestamp and signature; the webhook-id stays.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	body, err := c.body(rec)
	if err != nil {
		return synclayer.Permanent(err)
	}
	id := c.MessageID(rec)
	now := c.cfg.Now()
	sig, err := Sign(c.cfg.Secrets, id, now, body)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("webhook: sign: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return synclayer.Permanent(errors.New("webhook: build request: invalid URL"))
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)

	resp, err := c.client.Do(req)
	if err := c.classes.Check(req, resp, err); err != nil {
		return err
	}
	if err := httpx.Discard(resp); err != nil {
		// The receiver may or may not have the message; it deduplicates by
		// webhook-id, so send again.
		return c.classes.Network(req, fmt.Errorf("reading the %s response: %w", resp.Status, err))
	}
	return nil
}

// body builds the JSON Message of rec.
func (c *Connector) body(rec synclayer.Record) ([]byte, error) {
	m := Message{
		Type:      rec.Event.Type,
		Timestamp: rec.Event.Time.UTC(),
		EventID:   rec.Event.ID,
		Key:       rec.Key,
		Version:   rec.Version,
		Deleted:   rec.Delete,
	}
	if !rec.Delete {
		switch p := rec.Payload.(type) {
		case nil:
			m.Data = rec.Event.Data
		case json.RawMessage:
			m.Data = p
		case []byte:
			m.Data = p
		default:
			b, err := json.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("webhook: %w: %w", partner.ErrPayload, err)
			}
			m.Data = b
		}
		if len(m.Data) > 0 && !json.Valid(m.Data) {
			return nil, fmt.Errorf("webhook: %w: %T is not valid JSON", partner.ErrPayload, rec.Payload)
		}
	}
	b, err := httpx.JSONBody(m, c.cfg.MaxPayloadBytes)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return b, nil
}
