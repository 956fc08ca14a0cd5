package rest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
	"github.com/hmsplatform/synclayer/internal/httpx"
)

var _ drift.Repairer = (*Connector)(nil)

// Verify reads rec.Key at the partner (GET on the URL Sync writes) and
// compares the JSON it holds with the JSON Sync would send.
//
// A 404 or 410 is [drift.Missing], or [drift.InSync] for a delete; a
// record held for a delete is [drift.Unexpected]. Otherwise the verdict is
// [drift.Differs] with the differing fields, or [drift.InSync]. The
// comparison takes numbers as numbers (1 equals 1.0), strings that are both
// RFC 3339 times as instants (a time zone does not differ), strings of the
// FoldCase fields case-insensitively and other strings exactly; it skips
// OwnedFields and ignores the fields the partner holds that the payload
// lacks (its own ids and stamps), and a null the partner leaves out. Fields
// are named by dotted paths into nested objects ("contact.email"); an
// array is one value; "$" names a payload that is not an object.
//
// The verdict's ETag is the response's ETag header and its State the
// partner's record decoded as JSON (objects as map[string]any, numbers as
// json.Number). Errors are classified as Sync's are; a 2xx answer that is
// not JSON or is larger than MaxPayloadBytes is a permanent
// [partner.ErrRejected].
func (c *Connector) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	target, err := c.URL(rec.Key)
	if err != nil {
		return drift.Verdict{}, synclayer.Permanent(err)
	}
	var want any
	if !rec.Delete {
		body, err := c.body(rec.Payload)
		if err != nil {
			return drift.Verdict{}, synclayer.Permanent(err)
		}
		if want, err = decodeJSON(body); err != nil {
			return drift.Verdict{}, synclayer.Permanent(fmt.Errorf("rest: %w: %w", partner.ErrPayload, err))
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return drift.Verdict{}, synclayer.Permanent(fmt.Errorf("rest: build request: %s", c.classes.Redact(nil, err.Error())))
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Del("Content-Type")

	resp, err := c.client.Do(req)
	if err == nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone) {
		httpx.Discard(resp)
		return verdict.Of(rec, verdict.Held{}, nil)
	}
	if err := c.classes.Check(req, resp, err); err != nil {
		return drift.Verdict{}, err
	}
	limit := c.cfg.MaxPayloadBytes
	b, err := httpx.ReadBody(resp, int64(limit)+1)
	if err != nil {
		return drift.Verdict{}, c.classes.Network(req, fmt.Errorf("reading the %s response: %w", resp.Status, err))
	}
	if len(b) > limit {
		return drift.Verdict{}, httpx.Wrap(c.classes.New(req, resp, nil, partner.ErrRejected,
			fmt.Errorf("the record read is over MaxPayloadBytes (%d bytes)", limit)))
	}
	var got any
	if json.Valid(b) {
		got, err = decodeJSON(b)
	} else {
		err = errors.New("invalid JSON")
	}
	if err != nil {
		return drift.Verdict{}, httpx.Wrap(c.classes.New(req, resp, b, partner.ErrRejected,
			fmt.Errorf("the record read is not JSON: %w", err)))
	}
	return verdict.Of(rec, verdict.Held{Exists: true, ETag: resp.Header.Get("ETag"), State: got}, func() ([]string, error) {
		return differences(want, got, c.owned, c.fold), nil
	})
}

// Repair sends what Sync would send for rec over the partner state v
// describes: with OwnedFields, the payload's owned fields take their
// values from v.State (and are left out where the partner has none), when
// v.State is the partner's record (not for a Missing verdict).
//
// The write is conditional: If-Match: v.ETag when the verdict has an ETag,
// else If-None-Match: * for a [drift.Missing] verdict, so that a record
// edited or created after Verify read it is not overwritten. A 412
// Precondition Failed is an error wrapping [drift.ErrConflict] (and the
// classified [partner.ErrConflict]). A partner without ETags gets an
// unconditional write; an edit between Verify and Repair is then
// overwritten. Weak ETags ("W/...") never match an If-Match, so such a
// partner answers every repair with a conflict.
//
// The Idempotency-Key of a repair differs from the original push's (a
// partner that honours it would otherwise drop the repair as a replay):
// it hashes the change with the verdict's kind, ETag and state, so retries
// of one repair share it.
func (c *Connector) Repair(ctx context.Context, rec synclayer.Record, v drift.Verdict) error {
	target, body, err := c.request(rec)
	if err != nil {
		return err
	}
	if !rec.Delete {
		if body, err = c.keepOwned(body, v.State); err != nil {
			return synclayer.Permanent(err)
		}
	}
	cond := func(h http.Header) {
		switch {
		case v.ETag != "":
			h.Set("If-Match", v.ETag)
		case v.Kind == drift.Missing:
			h.Set("If-None-Match", "*")
		}
	}
	err = c.write(ctx, target, rec.Delete, body, c.repairKey(rec, v), cond)
	if pe, ok := errors.AsType[*partner.Error](err); ok && pe.StatusCode == http.StatusPreconditionFailed {
		return fmt.Errorf("rest: repair of %q: %w: %w", rec.Key, drift.ErrConflict, err)
	}
	return err
}

// keepOwned replaces the owned fields of the JSON object body with their
// values in state, the partner's record as Verify read it. A body or state
// that is not an object is left as it is.
func (c *Connector) keepOwned(body []byte, state any) ([]byte, error) {
	held, ok := state.(map[string]any)
	if len(c.owned) == 0 || !ok {
		return body, nil
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("rest: %w: %w", partner.ErrPayload, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return body, nil
	}
	for path := range c.owned {
		val, ok := lookupPath(held, path)
		setPath(m, path, val, ok)
	}
	b, err := httpx.JSONBody(m, c.cfg.MaxPayloadBytes)
	if err != nil {
		return nil, fmt.Errorf("rest: the body with the partner's owned fields: %w", err)
	}
	return b, nil
}

// repairKey is the Idempotency-Key of a repair: "sl1r-" and a hash of the
// change, the verdict's kind, its ETag and its state.
func (c *Connector) repairKey(rec synclayer.Record, v drift.Verdict) string {
	state, _ := json.Marshal(v.State)
	h := sha256.New()
	for _, s := range []string{keyid.Change(c.cfg.Name, rec), v.Kind.String(), v.ETag} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(state)
	return "sl1r-" + hex.EncodeToString(h.Sum(nil)[:16])
}
