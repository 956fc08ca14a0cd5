package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
)

var _ drift.Repairer = (*Connector)(nil)

// ErrNoRead is returned, permanent, by [Connector.Verify] and
// [Connector.Repair] of a connector without Config.Read: the partner's
// WSDL has no read operation, so its state cannot be checked. It wraps
// errors.ErrUnsupported, so a reconciler can tell "cannot verify here"
// from a failed check without knowing this package.
var ErrNoRead = fmt.Errorf("soap: no read operation configured (Config.Read): %w", errors.ErrUnsupported)

// readState is the Verdict.State of a Connector: the record Config.Read
// returned and its XML (nil when the partner has none).
type readState struct {
	value any
	xml   []byte
}

// Verify reads rec.Key with Config.Read and compares the XML of what it
// returns with the XML of rec.Payload, below their root elements.
//
// No record is [drift.Missing], or [drift.InSync] for a delete; a record
// held for a delete is [drift.Unexpected]. Otherwise the verdict is
// [drift.Differs] with the dotted paths of the differing elements
// ("Contact.Email", "Amount.@currency"; a repeated element is one value),
// or [drift.InSync]. Elements compare by local name; text compares as XML
// Schema values: numbers as numbers, dateTimes with zones as instants,
// booleans as true/1 and false/0, other text exactly (after trimming
// spaces). Elements the partner returns beyond the payload's, and those
// of Config.OwnedFields, are not compared; an empty element the partner
// leaves out is the same.
//
// SOAP has no ETags: the verdict's ETag is "" and its State holds what
// Read returned. Errors are Read's (those of [Connector.Call] are
// classified as Sync's); without Config.Read, Verify returns [ErrNoRead].
func (c *Connector) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	if c.cfg.Read == nil {
		return drift.Verdict{}, synclayer.Permanent(ErrNoRead)
	}
	var want []byte
	if !rec.Delete {
		if _, err := c.Envelope(rec); err != nil {
			return drift.Verdict{}, synclayer.Permanent(err)
		}
		var err error
		if want, err = xml.Marshal(rec.Payload); err != nil {
			return drift.Verdict{}, synclayer.Permanent(fmt.Errorf("soap: %w: %w", partner.ErrPayload, err))
		}
	}
	st, err := c.read(ctx, rec.Key)
	if err != nil {
		return drift.Verdict{}, err
	}
	return verdict.Of(rec, verdict.Held{Exists: st.xml != nil, State: st}, func() ([]string, error) {
		wt, err := parseTree(want)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("soap: %w: %w", partner.ErrPayload, err))
		}
		gt, err := parseTree(st.xml)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("soap: read of key %q: %w", rec.Key, err))
		}
		return differences(wt, gt, c.owned), nil
	})
}

// Repair sends rec as Sync does, over the state v describes. SOAP has no
// conditional calls, so Repair reads the record again with Config.Read
// right before the call, and when it is no longer what v.State holds,
// calls nothing and returns an error wrapping [drift.ErrConflict]; an
// edit in the moment between that read and the call is overwritten. With
// Config.OwnedFields, the payload sent holds the partner's values of the
// owned fields, which needs Read to return the payload's Go type (else
// the repair is a permanent [partner.ErrPayload]). A delete the partner
// no longer needs is not sent. Without Config.Read, Repair returns
// [ErrNoRead].
func (c *Connector) Repair(ctx context.Context, rec synclayer.Record, v drift.Verdict) error {
	if c.cfg.Read == nil {
		return synclayer.Permanent(ErrNoRead)
	}
	now, err := c.read(ctx, rec.Key)
	if err != nil {
		return err
	}
	if st, ok := v.State.(*readState); ok && !bytes.Equal(st.xml, now.xml) {
		return fmt.Errorf("soap: repair of key %q: %w", rec.Key, drift.ErrConflict)
	}
	if rec.Delete {
		if now.xml == nil {
			return nil
		}
		return c.Sync(ctx, rec)
	}
	if len(c.owned) > 0 && now.xml != nil {
		p, err := keepOwned(rec.Payload, now.value, c.cfg.OwnedFields)
		if err != nil {
			return synclayer.Permanent(fmt.Errorf("soap: repair of key %q: %w: %w", rec.Key, partner.ErrPayload, err))
		}
		rec.Payload = p
	}
	return c.Sync(ctx, rec)
}

// read calls Config.Read for key and marshals what it returns.
func (c *Connector) read(ctx context.Context, key string) (*readState, error) {
	got, err := c.cfg.Read(ctx, c, key)
	if err != nil {
		return nil, fmt.Errorf("soap: read of key %q: %w", key, err)
	}
	if isNil(got) {
		return &readState{}, nil
	}
	b, err := xml.Marshal(got)
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("soap: read of key %q: the record read does not marshal as XML: %w", key, err))
	}
	return &readState{value: got, xml: b}, nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return r.IsNil()
	}
	return false
}
