package arcgis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/arcgis/internal/field"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"

	"github.com/hmsplatform/synclayer/internal/option"
)

// Config configures a [Connector]. LayerURL and KeyField are required.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// LayerURL is the layer's REST endpoint, an http or https URL ending in
	// "/FeatureServer/{layer}", without query or fragment.
	LayerURL string
	// KeyField is the attribute that holds the record key. A unique index
	// on it is advised.
	KeyField string
	// VersionField, if set, is an integer attribute that holds the record
	// version; it guards against stale writes (see the package doc).
	VersionField string
	// ObjectIDField is the layer's object id field (default "OBJECTID").
	ObjectIDField string
	// Token, if set, is sent as "X-Esri-Authorization: Bearer <token>".
	Token string
	// HTTPClient sends the requests (default http.DefaultClient).
	HTTPClient *http.Client

	// OwnedFields names the attributes the partner owns (notes an agency
	// adds, say): [Connector.Verify] never compares them, and
	// [Connector.Repair] keeps the values the feature holds. Names compare
	// case-insensitively, as ArcGIS field names do. Sync still sends what
	// the payload holds.
	OwnedFields []string

	// GeometryTolerance is how far apart, in the units of the geometry's
	// spatial reference, a vertex the layer holds may be from the one sent
	// and still be the same (the layer snaps coordinates to its XY
	// resolution). Default: ArcGIS's default XY tolerance, 1e-8 for a
	// geographic spatial reference (WKID 4326 and the other common
	// degree-based ones), else 0.001 (a millimetre in metres).
	GeometryTolerance float64
}

// Connector keeps one feature per record key in an ArcGIS layer. Build it
// with [New]. It is safe for concurrent use.
type Connector struct {
	cfg      Config
	client   *http.Client
	queryURL string
	editsURL string
	cls      httpx.Classifier
	owned    map[string]bool // Config.OwnedFields, lowercase
}

var (
	_ synclayer.Connector       = (*Connector)(nil)
	_ synclayer.PartnerIDSyncer = (*Connector)(nil)
)

var (
	layerPath = regexp.MustCompile(`/FeatureServer/[0-9]+/?$`)
	fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 4 << 20

// New checks cfg and returns a connector.
func New(cfg Config) (*Connector, error) {
	u, err := httpx.ParseEndpoint("Config.LayerURL", cfg.LayerURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("arcgis: %w: %w", option.ErrInvalid, err)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("arcgis: %w: Config.LayerURL %q must not carry a query, fragment or user info (put the token in Config.Token)", option.ErrInvalid, httpx.RedactURL(u, true))
	case !layerPath.MatchString(u.Path):
		return nil, fmt.Errorf("arcgis: %w: Config.LayerURL %q does not end in /FeatureServer/{layer}", option.ErrInvalid, httpx.RedactURL(u, false))
	}
	if cfg.ObjectIDField == "" {
		cfg.ObjectIDField = "OBJECTID"
	}
	for _, f := range []struct{ name, v string }{{"KeyField", cfg.KeyField}, {"ObjectIDField", cfg.ObjectIDField}} {
		if !fieldName.MatchString(f.v) {
			return nil, fmt.Errorf("arcgis: %w: Config.%s %q is not a field name (letters, digits, _; required)", option.ErrInvalid, f.name, f.v)
		}
	}
	if cfg.VersionField != "" && !fieldName.MatchString(cfg.VersionField) {
		return nil, fmt.Errorf("arcgis: %w: Config.VersionField %q is not a field name", option.ErrInvalid, cfg.VersionField)
	}
	if strings.EqualFold(cfg.KeyField, cfg.ObjectIDField) || strings.EqualFold(cfg.KeyField, cfg.VersionField) || strings.EqualFold(cfg.VersionField, cfg.ObjectIDField) {
		return nil, fmt.Errorf("arcgis: %w: Config.KeyField, VersionField and ObjectIDField must differ", option.ErrInvalid)
	}
	for _, name := range cfg.OwnedFields {
		if !fieldName.MatchString(name) {
			return nil, fmt.Errorf("arcgis: %w: Config.OwnedFields holds %q, which is not a field name", option.ErrInvalid, name)
		}
		if strings.EqualFold(name, cfg.KeyField) || strings.EqualFold(name, cfg.ObjectIDField) || strings.EqualFold(name, cfg.VersionField) {
			return nil, fmt.Errorf("arcgis: %w: Config.OwnedFields holds %s, which the connector manages", option.ErrInvalid, name)
		}
	}
	if cfg.GeometryTolerance < 0 || !finite(cfg.GeometryTolerance) {
		return nil, fmt.Errorf("arcgis: %w: Config.GeometryTolerance %v is negative or not finite", option.ErrInvalid, cfg.GeometryTolerance)
	}
	cfg.OwnedFields = slices.Clone(cfg.OwnedFields)
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, fmt.Errorf("arcgis: %w: Config.Token holds a line break", option.ErrInvalid)
	}
	c := &Connector{cfg: cfg, client: cfg.HTTPClient, owned: map[string]bool{}}
	for _, name := range cfg.OwnedFields {
		c.owned[strings.ToLower(name)] = true
	}
	if c.client == nil {
		c.client = http.DefaultClient
	}
	base := strings.TrimSuffix(u.String(), "/")
	c.queryURL = base + "/query"
	c.editsURL = base + "/applyEdits"
	c.cls = httpx.Classifier{Prefix: "arcgis"}
	if cfg.Token != "" {
		c.cls.Secrets = []string{cfg.Token}
	}
	return c, nil
}

// Quote returns s as an ArcGIS SQL string literal: in single quotes, with
// each embedded single quote doubled.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// checkKey refuses keys that no where clause can carry safely: control
// characters and backslashes (an escape character in some databases).
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	for _, r := range key {
		if r == '\\' || unicode.IsControl(r) {
			return fmt.Errorf("key %q holds %U, which a where clause cannot carry safely", key, r)
		}
	}
	return nil
}

// Sync upserts or deletes the feature of rec.Key; see the package doc.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	_, err := c.SyncID(ctx, rec)
	return err
}

// SyncID does what Sync does and returns the object id, in decimal, of
// the feature that holds rec.Key: the one added or updated (from the
// applyEdits results), or, when the layer holds a newer version and
// nothing is written, the one Sync would have updated. For a delete it is
// the object id deleted (the lowest, when the key had several), or ""
// when there was nothing to delete or nothing was deleted. On error it
// is "". It costs no request beyond Sync's; [synclayer.Dispatcher] keeps
// the id in the route's delivery.
func (c *Connector) SyncID(ctx context.Context, rec synclayer.Record) (string, error) {
	feat, err := c.wanted(rec)
	if err != nil {
		return "", err
	}
	have, err := c.find(ctx, rec.Key)
	if err != nil {
		return "", err
	}
	oid, err := c.write(ctx, rec, feat, have, func(again []found, _ error) (int64, error) {
		// Perhaps another writer added the key meanwhile and a unique
		// index said no: update that one.
		if c.newerThere(rec, again) {
			return again[0].oid, nil
		}
		return c.applyEdits(ctx, c.update(feat, again))
	})
	if err != nil || oid <= 0 {
		return "", err
	}
	return strconv.FormatInt(oid, 10), nil
}

// write brings have, the features of rec.Key, to rec, as Sync and Repair
// do: it deletes them all for a delete, adds feat when there are none,
// and otherwise updates the first with feat and deletes the others. When
// one of have holds a newer version it writes nothing. It returns the
// object id of the feature added or updated, or of the first one deleted
// (see [Connector.SyncID]); 0 when it is not known. When the layer
// refuses the add (an [ErrEdit] but not an [ErrToken]) and a query then
// finds features of the key, it returns refused of those features and
// the add's error; when that query finds none, the add's error; when the
// query fails, its error, which is retried if it is transient.
//
// When an update or delete names an object id another editor deleted
// after have was read (code 1019, "Object is missing"; rollbackOnFailure
// undid the rest of the request), write queries the key again and writes
// once more against what is there now: nothing left is a delete done, or
// an add for an upsert.
func (c *Connector) write(ctx context.Context, rec synclayer.Record, feat wireFeature, have []found, refused func(again []found, err error) (int64, error)) (int64, error) {
	oid, err := c.writeOnce(ctx, rec, feat, have, refused)
	if !missing(err) {
		return oid, err
	}
	again, qerr := c.find(ctx, rec.Key)
	if qerr != nil {
		return 0, fmt.Errorf("arcgis: key %q: an edited feature vanished meanwhile (%v), and the query after it failed: %w", rec.Key, err, qerr)
	}
	return c.writeOnce(ctx, rec, feat, again, refused)
}

// missing reports whether err holds the layer's refusal of an update or
// delete whose object id no longer exists (code 1019).
func missing(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == 1019 && (ae.Op == "update" || ae.Op == "delete")
}

// writeOnce is one round of write, against have.
func (c *Connector) writeOnce(ctx context.Context, rec synclayer.Record, feat wireFeature, have []found, refused func(again []found, err error) (int64, error)) (int64, error) {
	if c.newerThere(rec, have) {
		if rec.Delete {
			return 0, nil // nothing deleted
		}
		return have[0].oid, nil
	}
	switch {
	case rec.Delete:
		if len(have) == 0 {
			return 0, nil
		}
		return c.applyEdits(ctx, deletesOf(have))
	case len(have) == 0:
		oid, err := c.applyEdits(ctx, edits{adds: []wireFeature{feat}})
		if err == nil || !errors.Is(err, ErrEdit) || errors.Is(err, ErrToken) {
			return oid, err
		}
		again, qerr := c.find(ctx, rec.Key)
		if qerr != nil {
			// The query that would tell a unique index meeting the key
			// from a bad feature failed: the refusal is not final yet.
			return 0, fmt.Errorf("arcgis: add of key %q refused (%v), and the query after it failed: %w", rec.Key, err, qerr)
		}
		if len(again) == 0 {
			return 0, err
		}
		return refused(again, err)
	}
	return c.applyEdits(ctx, c.update(feat, have))
}

// newerThere reports whether one of found holds a version newer than
// rec's, which Sync and Repair leave alone (Config.VersionField only).
func (c *Connector) newerThere(rec synclayer.Record, found []found) bool {
	if rec.Version == 0 || c.cfg.VersionField == "" {
		return false
	}
	for _, f := range found {
		if f.version > rec.Version {
			return true
		}
	}
	return false
}

// deletesOf makes the edits that delete every one of found.
func deletesOf(found []found) edits {
	var ed edits
	for _, f := range found {
		ed.deletes = append(ed.deletes, f.oid)
	}
	return ed
}

// update makes the edits that update the first of found with feat and
// delete the others.
func (c *Connector) update(feat wireFeature, found []found) edits {
	feat.Attributes[c.cfg.ObjectIDField] = found[0].oid
	ed := edits{updates: []wireFeature{feat}}
	for _, f := range found[1:] {
		ed.deletes = append(ed.deletes, f.oid)
	}
	return ed
}

// feature validates the payload and makes the feature to send.
func (c *Connector) feature(rec synclayer.Record) (wireFeature, error) {
	var f Feature
	switch p := rec.Payload.(type) {
	case Feature:
		f = p
	case *Feature:
		if p == nil {
			return wireFeature{}, errors.New("payload is a nil *arcgis.Feature")
		}
		f = *p
	default:
		return wireFeature{}, fmt.Errorf("payload is %T, want arcgis.Feature or *arcgis.Feature", rec.Payload)
	}
	attrs := make(map[string]any, len(f.Attributes)+2)
	for name, v := range f.Attributes {
		if !fieldName.MatchString(name) {
			return wireFeature{}, fmt.Errorf("attribute name %q is not a field name", name)
		}
		switch {
		case strings.EqualFold(name, c.cfg.ObjectIDField):
			return wireFeature{}, fmt.Errorf("attribute %s is the object id, which the connector manages", name)
		case strings.EqualFold(name, c.cfg.KeyField):
			if s, ok := v.(string); !ok || s != rec.Key {
				return wireFeature{}, fmt.Errorf("attribute %s is %v, not the record key", name, v)
			}
		case c.cfg.VersionField != "" && strings.EqualFold(name, c.cfg.VersionField):
			if n, ok := asInt(v); !ok || n != rec.Version {
				return wireFeature{}, fmt.Errorf("attribute %s is %v, not the record version %d", name, v, rec.Version)
			}
		}
		attrs[name] = v
	}
	attrs[c.cfg.KeyField] = rec.Key
	if c.cfg.VersionField != "" {
		attrs[c.cfg.VersionField] = rec.Version
	}
	if f.Geometry != nil {
		if err := validGeometry(f.Geometry); err != nil {
			return wireFeature{}, err
		}
	}
	if _, err := json.Marshal(attrs); err != nil {
		return wireFeature{}, fmt.Errorf("attributes do not encode as JSON: %w", err)
	}
	return wireFeature{Attributes: attrs, Geometry: f.Geometry}, nil
}

// found is one feature of a key: its object id and version and, when read
// in full, its attributes and geometry.
type found struct {
	oid      int64
	version  int64
	attrs    map[string]any
	geometry json.RawMessage
}

// find returns the features whose key attribute equals key, lowest object
// id first, with the key, object id and version attributes.
func (c *Connector) find(ctx context.Context, key string) ([]found, error) {
	fields := []string{c.cfg.ObjectIDField, c.cfg.KeyField}
	if c.cfg.VersionField != "" {
		fields = append(fields, c.cfg.VersionField)
	}
	return c.query(ctx, key, url.Values{
		"outFields":      {strings.Join(fields, ",")},
		"returnGeometry": {"false"},
	})
}

// query runs the query of key's features with the form fields extra.
func (c *Connector) query(ctx context.Context, key string, extra url.Values) ([]found, error) {
	form := url.Values{
		"f":     {"json"},
		"where": {c.cfg.KeyField + " = " + Quote(key)},
	}
	maps.Copy(form, extra)
	var resp struct {
		ObjectIDFieldName string `json:"objectIdFieldName"`
		Features          []struct {
			Attributes map[string]any  `json:"attributes"`
			Geometry   json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := c.post(ctx, "query", c.queryURL, form, &resp); err != nil {
		return nil, err
	}
	oidField := c.cfg.ObjectIDField
	if resp.ObjectIDFieldName != "" {
		oidField = resp.ObjectIDFieldName
	}
	var out []found
	for _, f := range resp.Features {
		// Keep only exact matches of the key: a case- or accent-insensitive
		// collation may return features of other keys. Field names are
		// case-insensitive, and the answer spells them as the layer does.
		if k, ok := field.Get(f.Attributes, c.cfg.KeyField).(string); !ok || k != key {
			continue
		}
		oid, ok := asInt(field.Get(f.Attributes, oidField))
		if !ok || oid <= 0 {
			return nil, c.malformed("query", fmt.Errorf("feature without a valid %s: %v", oidField, field.Get(f.Attributes, oidField)))
		}
		var ver int64
		if c.cfg.VersionField != "" {
			ver, _ = asInt(field.Get(f.Attributes, c.cfg.VersionField))
		}
		geom := f.Geometry
		if string(geom) == "null" {
			geom = nil
		}
		out = append(out, found{oid: oid, version: ver, attrs: f.Attributes, geometry: geom})
	}
	slices.SortFunc(out, func(a, b found) int { return int(min(max(a.oid-b.oid, -1), 1)) })
	return out, nil
}

// edits is one applyEdits request.
type edits struct {
	adds, updates []wireFeature
	deletes       []int64
}

type editResult struct {
	ObjectID int64      `json:"objectId"`
	Success  bool       `json:"success"`
	Error    *wireError `json:"error"`
}

// applyEdits sends ed, checks every result, and returns the object id of
// the first add, else of the first update, else of the first delete (0
// when the results leave it out).
func (c *Connector) applyEdits(ctx context.Context, ed edits) (int64, error) {
	form := url.Values{"f": {"json"}, "rollbackOnFailure": {"true"}}
	if len(ed.adds) > 0 {
		b, err := json.Marshal(ed.adds)
		if err != nil {
			return 0, synclayer.Permanent(fmt.Errorf("arcgis: %w: %w", partner.ErrPayload, err))
		}
		form.Set("adds", string(b))
	}
	if len(ed.updates) > 0 {
		b, err := json.Marshal(ed.updates)
		if err != nil {
			return 0, synclayer.Permanent(fmt.Errorf("arcgis: %w: %w", partner.ErrPayload, err))
		}
		form.Set("updates", string(b))
	}
	if len(ed.deletes) > 0 {
		ids := make([]string, len(ed.deletes))
		for i, id := range ed.deletes {
			ids[i] = strconv.FormatInt(id, 10)
		}
		form.Set("deletes", strings.Join(ids, ","))
	}
	var resp struct {
		AddResults    []editResult `json:"addResults"`
		UpdateResults []editResult `json:"updateResults"`
		DeleteResults []editResult `json:"deleteResults"`
	}
	if err := c.post(ctx, "applyEdits", c.editsURL, form, &resp); err != nil {
		return 0, err
	}
	check := func(op string, want int, got []editResult, ids []int64) error {
		if len(got) != want {
			return c.malformed("applyEdits", fmt.Errorf("%d %sResults for %d %ss", len(got), op, want, op))
		}
		for i, r := range got {
			if r.Success {
				continue
			}
			oid := r.ObjectID
			if oid == 0 && ids != nil {
				oid = ids[i]
			}
			we := r.Error
			if we == nil {
				we = &wireError{Code: 500, Message: "success false without an error object"}
			}
			return c.apiErr(we.apiError(op, oid), nil)
		}
		return nil
	}
	var updIDs []int64
	for _, u := range ed.updates {
		id, _ := asInt(u.Attributes[c.cfg.ObjectIDField])
		updIDs = append(updIDs, id)
	}
	if err := errors.Join(
		check("add", len(ed.adds), resp.AddResults, nil),
		check("update", len(ed.updates), resp.UpdateResults, updIDs),
		check("delete", len(ed.deletes), resp.DeleteResults, ed.deletes),
	); err != nil {
		return 0, err
	}
	switch {
	case len(resp.AddResults) > 0:
		return resp.AddResults[0].ObjectID, nil
	case len(resp.UpdateResults) > 0:
		return cmp.Or(resp.UpdateResults[0].ObjectID, updIDs[0]), nil
	case len(resp.DeleteResults) > 0:
		return cmp.Or(resp.DeleteResults[0].ObjectID, ed.deletes[0]), nil
	}
	return 0, nil
}

// post sends form to u and decodes the JSON answer into out, reading
// error bodies whatever the HTTP status.
func (c *Connector) post(ctx context.Context, op, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("arcgis: %s: %w", op, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.Token != "" {
		req.Header.Set("X-Esri-Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return c.cls.Check(req, resp, err)
	}
	body, rerr := httpx.ReadBody(resp, maxResponse)
	if rerr != nil {
		return c.cls.Network(req, rerr)
	}
	// An ArcGIS error object wins over the HTTP status.
	var env struct {
		Error  *wireError `json:"error"`
		Code   int        `json:"code"`
		Status string     `json:"status"`
	}
	jerr := json.Unmarshal(body, &env)
	if jerr == nil {
		switch {
		case env.Error != nil:
			return c.apiErrResp(req, resp, body, env.Error.apiError(op, 0))
		case env.Status == "failed" || env.Code >= 400:
			code := env.Code
			if code == 0 {
				code = 500
			}
			return c.apiErrResp(req, resp, body, (&wireError{Code: code, Message: "status failed"}).apiError(op, 0))
		}
	}
	if err := c.cls.Response(req, resp, body); err != nil {
		return err
	}
	if jerr != nil {
		return httpx.Wrap(c.cls.New(req, resp, body, partner.ErrUnavailable, fmt.Errorf("%s: response is not JSON: %w", op, jerr)))
	}
	if len(body) >= maxResponse {
		return httpx.Wrap(c.cls.New(req, resp, nil, partner.ErrUnavailable, fmt.Errorf("%s: response over %d bytes", op, maxResponse)))
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(out); err != nil {
		return httpx.Wrap(c.cls.New(req, resp, body, partner.ErrUnavailable, fmt.Errorf("%s: unexpected response: %w", op, err)))
	}
	return nil
}

// apiErrResp classifies an error object of a response.
func (c *Connector) apiErrResp(req *http.Request, resp *http.Response, body []byte, ae *APIError) error {
	e := c.cls.New(req, resp, body, kindOf(ae.Code), ae)
	return httpx.Wrap(e)
}

// apiErr classifies an error object without its exchange (an edit result).
func (c *Connector) apiErr(ae *APIError, _ []byte) error {
	e := c.cls.New(nil, nil, nil, kindOf(ae.Code), ae)
	e.URL = httpx.RedactURL(mustURL(c.editsURL), false)
	e.Method = http.MethodPost
	return httpx.Wrap(e)
}

// malformed reports a response that does not say what it should; the
// request may or may not have been applied, so it is retryable.
func (c *Connector) malformed(op string, err error) error {
	e := c.cls.New(nil, nil, nil, partner.ErrUnavailable, fmt.Errorf("%s: unexpected response: %w", op, err))
	return httpx.Wrap(e)
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// asInt reads an integer from a decoded JSON value.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case string:
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}
