package arcgis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/drift"
)

var _ drift.Repairer = (*Connector)(nil)

// state is the Verdict.State of a Connector: the features of the key as
// Verify read them.
type state struct {
	features []found
}

// Verify queries the layer for rec.Key's features (the where clause Sync
// uses, all attributes, and the geometry in the payload's spatial
// reference when the payload has one) and compares the lowest object id's
// feature with the feature Sync would write.
//
// No feature is [drift.Missing], or [drift.InSync] for a delete; a feature
// held for a delete is [drift.Unexpected]. Otherwise the verdict is
// [drift.Differs], with the payload's names of the attributes that differ
// ("geometry" for the geometry, and Config.ObjectIDField when the key has
// more than one feature, which Sync would merge), or [drift.InSync].
// Attributes compare as the layer stores them: numbers as numbers within
// float rounding (a Single field's seven digits for a fraction), dates
// (time.Time or RFC 3339) as epoch milliseconds, strings exactly; names
// case-insensitively; a null the layer leaves out is the same null. The
// attributes of Config.OwnedFields and those the layer holds beyond the
// payload's are not compared. Geometry vertices compare within
// Config.GeometryTolerance, polygon rings in any order, direction and
// starting vertex.
//
// ArcGIS has no ETags: the verdict's ETag is "", and its State holds the
// features as read, for [Connector.Repair]. Errors are classified as
// Sync's are.
func (c *Connector) Verify(ctx context.Context, rec synclayer.Record) (drift.Verdict, error) {
	feat, err := c.wanted(rec)
	if err != nil {
		return drift.Verdict{}, err
	}
	fs, err := c.read(ctx, rec.Key, feat)
	if err != nil {
		return drift.Verdict{}, err
	}
	return verdict.Of(rec, verdict.Held{Exists: len(fs) > 0, State: &state{features: fs}}, func() ([]string, error) {
		fields := c.attrDiff(feat.Attributes, fs[0].attrs)
		if feat.Geometry != nil && !c.equalGeometry(feat.Geometry, fs[0].geometry) {
			fields = append(fields, geometryField)
		}
		if len(fs) > 1 {
			fields = append(fields, c.cfg.ObjectIDField)
		}
		slices.Sort(fields)
		return fields, nil
	})
}

// Repair writes rec over the layer's state v describes, as Sync would: an
// update of the lowest object id (deleting the key's other features), an
// add when there is none, or the delete of every feature of the key. An
// update leaves out the attributes of Config.OwnedFields, so the feature
// keeps its own values of them; an add sends the payload's.
//
// ArcGIS has no ETags or conditional edits. Repair therefore reads the
// key's features again, just before its applyEdits, and when they are no
// longer what v.State holds (an attribute, the geometry, or the set of
// object ids changed) writes nothing and returns an error wrapping
// [drift.ErrConflict]. An add the layer refuses because the key is now
// there (a unique index) is a conflict too. An edit made in the short
// window between that second read and the applyEdits is overwritten. A
// verdict whose State Verify did not make (a zero Verdict, say) skips the
// comparison. With Config.VersionField, a feature holding a newer version
// than rec is left alone, as Sync leaves it.
func (c *Connector) Repair(ctx context.Context, rec synclayer.Record, v drift.Verdict) error {
	feat, err := c.wanted(rec)
	if err != nil {
		return err
	}
	now, err := c.read(ctx, rec.Key, feat)
	if err != nil {
		return err
	}
	if st, ok := v.State.(*state); ok && !sameFeatures(st.features, now) {
		return fmt.Errorf("arcgis: repair of key %q: %w", rec.Key, drift.ErrConflict)
	}
	if !rec.Delete && len(now) > 0 {
		// An update keeps the feature's own values of the owned fields.
		for name := range feat.Attributes {
			if c.owned[strings.ToLower(name)] {
				delete(feat.Attributes, name)
			}
		}
	}
	_, err = c.write(ctx, rec, feat, now, func(_ []found, err error) (int64, error) {
		return 0, fmt.Errorf("arcgis: repair of key %q: %w: %w", rec.Key, drift.ErrConflict, err)
	})
	return err
}

// wanted checks rec as Sync does and returns the feature Sync would write
// (none for a delete).
func (c *Connector) wanted(rec synclayer.Record) (wireFeature, error) {
	if err := checkKey(rec.Key); err != nil {
		return wireFeature{}, synclayer.Permanent(fmt.Errorf("arcgis: %w: %w", partner.ErrPayload, err))
	}
	if rec.Delete {
		return wireFeature{}, nil
	}
	f, err := c.feature(rec)
	if err != nil {
		return wireFeature{}, synclayer.Permanent(fmt.Errorf("arcgis: key %q: %w: %w", rec.Key, partner.ErrPayload, err))
	}
	return f, nil
}

// read queries key's features with all attributes and, when feat has a
// geometry, the geometry in feat's spatial reference.
func (c *Connector) read(ctx context.Context, key string, feat wireFeature) ([]found, error) {
	extra := url.Values{"outFields": {"*"}, "returnGeometry": {"false"}}
	if feat.Geometry != nil {
		extra.Set("returnGeometry", "true")
		if b, err := json.Marshal(feat.Geometry); err == nil {
			var g wireGeometry
			if json.Unmarshal(b, &g) == nil && g.SpatialReference.WKID > 0 {
				extra.Set("outSR", strconv.Itoa(g.SpatialReference.WKID))
			}
		}
	}
	return c.query(ctx, key, extra)
}

// sameFeatures reports whether two reads of a key found the same features
// with the same attributes and geometry.
func sameFeatures(a, b []found) bool {
	return slices.EqualFunc(a, b, func(x, y found) bool {
		return x.oid == y.oid && reflect.DeepEqual(x.attrs, y.attrs) && bytes.Equal(x.geometry, y.geometry)
	})
}
