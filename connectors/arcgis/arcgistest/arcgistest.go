// Package arcgistest is an in-memory ArcGIS feature layer for tests: an
// [http.Handler] that answers the layer's query and applyEdits operations
// in the JSON the ArcGIS REST API documents, so the arcgis connector (or
// your own client) can be tested against it without a network.
//
// Serve it with httptest.NewServer and point arcgis.Config.LayerURL at any
// path ending in FeatureServer/<n>; inject a [Fault] to make chosen requests
// fail, stall or lose their answer, or wrap it in synclayertest.ChaosServer
// for random faults. [Layer.Add], [Layer.Edit], [Layer.SetGeometry] and
// [Layer.Delete] change features by hand, as another editor would, for
// tests of drift detection. Errors come back as ArcGIS does: HTTP 200 with an
// {"error":{...}} body. Like a layer without a unique index on the key
// field, it accepts two features with the same key, so a test can see a
// connector that duplicates. Field names are case-insensitive, as in
// ArcGIS: where clauses, outFields and edits may spell a field in any
// case, and the layer stores and answers each field in its own spelling,
// the first one it met (the key field's given to [NewLayer]).
package arcgistest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hmsplatform/synclayer/connectors/arcgis/internal/field"
	"github.com/hmsplatform/synclayer/connectors/internal/faults"
	"github.com/hmsplatform/synclayer/connectors/internal/reqlog"
)

// Feature is one stored feature.
type Feature struct {
	ObjectID   int64
	Attributes map[string]any
	Geometry   json.RawMessage
}

// Layer is a fake feature layer. It is safe for concurrent use.
type Layer struct {
	keyField string
	token    string

	unique bool

	mu       sync.Mutex
	spelling map[string]string // lower-case field name -> the layer's spelling
	nextOID  int64
	features map[int64]*Feature
	edits    int
	requests int
	wheres   reqlog.Log
	faults   faults.Queue[Fault]
}

// Option configures [NewLayer]. No option can be given a bad value, so
// options return no error; a nil Option is skipped.
type Option func(*Layer)

// RequireToken makes the layer demand `X-Esri-Authorization: Bearer
// <token>`, answering 499 (token required) or 498 (invalid token) as
// ArcGIS does.
func RequireToken(token string) Option { return func(l *Layer) { l.token = token } }

// UniqueKey gives the layer a unique index on the key field: an add whose
// key another feature holds fails with code 1000, as a layer with such an
// index does.
func UniqueKey() Option { return func(l *Layer) { l.unique = true } }

// NewLayer returns an empty layer whose where clauses may name keyField.
func NewLayer(keyField string, opts ...Option) *Layer {
	l := &Layer{keyField: keyField, features: map[int64]*Feature{}, spelling: map[string]string{strings.ToLower(keyField): keyField, "objectid": "OBJECTID"}}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	return l
}

// Features returns the stored features, by object id.
func (l *Layer) Features() []Feature {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Feature, 0, len(l.features))
	for _, f := range l.features {
		out = append(out, clone(f))
	}
	slices.SortFunc(out, func(a, b Feature) int { return int(a.ObjectID - b.ObjectID) })
	return out
}

// ByKey returns the features whose key field holds key, by object id.
func (l *Layer) ByKey(key string) []Feature {
	var out []Feature
	for _, f := range l.Features() {
		if field.Get(f.Attributes, l.keyField) == key {
			out = append(out, f)
		}
	}
	return out
}

// Add stores a feature directly, as another editor would, and returns its
// object id.
func (l *Layer) Add(attrs map[string]any) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextOID++
	a := map[string]any{"OBJECTID": l.nextOID}
	l.set(a, attrs)
	l.features[l.nextOID] = &Feature{ObjectID: l.nextOID, Attributes: a}
	return l.nextOID
}

// Edit sets attrs on every feature of key, as another editor would, and
// reports how many it changed. A nil value stores a null; the object id
// cannot be changed.
func (l *Layer) Edit(key string, attrs map[string]any) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.features {
		if field.Get(f.Attributes, l.keyField) != key {
			continue
		}
		l.set(f.Attributes, attrs)
		n++
	}
	return n
}

// SetGeometry replaces the geometry of every feature of key with geometry
// (JSON as the REST API writes it; nil removes it) and reports how many it
// changed.
func (l *Layer) SetGeometry(key string, geometry json.RawMessage) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.features {
		if field.Get(f.Attributes, l.keyField) == key {
			f.Geometry = slices.Clone(geometry)
			n++
		}
	}
	return n
}

// Delete removes every feature of key, as another editor would, and
// reports how many it removed.
func (l *Layer) Delete(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id, f := range l.features {
		if field.Get(f.Attributes, l.keyField) == key {
			delete(l.features, id)
			n++
		}
	}
	return n
}

// Requests returns how many query and applyEdits requests reached the
// layer (past the token check).
func (l *Layer) Requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// Wheres returns the where clause of every query, in order.
func (l *Layer) Wheres() []string { return l.wheres.Lines() }

// Edits returns how many applyEdits requests changed the layer.
func (l *Layer) Edits() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.edits
}

// set stores attrs into dst under the layer's spelling of each field,
// learning the spelling of a field it has not met; the object id is left
// alone. The caller holds l.mu.
func (l *Layer) set(dst, attrs map[string]any) {
	for k, v := range attrs {
		lower := strings.ToLower(k)
		if lower == "objectid" {
			continue
		}
		name, ok := l.spelling[lower]
		if !ok {
			name = k
			l.spelling[lower] = k
		}
		dst[name] = v
	}
}

func clone(f *Feature) Feature {
	c := *f
	c.Geometry = slices.Clone(f.Geometry)
	c.Attributes = make(map[string]any, len(f.Attributes))
	for k, v := range f.Attributes {
		c.Attributes[k] = v
	}
	return c
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string, details ...string) {
	if details == nil {
		details = []string{}
	}
	reply(w, map[string]any{"error": map[string]any{"code": code, "message": msg, "details": details}})
}

// ServeHTTP answers <layer>/query and <layer>/applyEdits.
func (l *Layer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fail(w, 400, "Unable to parse the request body.")
		return
	}
	if r.Form.Get("f") != "json" {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>ArcGIS REST Services Directory</body></html>")
		return
	}
	if l.token != "" {
		switch r.Header.Get("X-Esri-Authorization") {
		case "Bearer " + l.token:
		case "":
			fail(w, 499, "Token Required")
			return
		default:
			fail(w, 498, "Invalid token.")
			return
		}
	}
	var op string
	switch {
	case strings.HasSuffix(r.URL.Path, "/query"):
		op = "query"
	case strings.HasSuffix(r.URL.Path, "/applyEdits") && r.Method == http.MethodPost:
		op = "applyEdits"
	default:
		fail(w, 400, "Invalid URL", "unsupported operation "+r.Method+" "+r.URL.Path)
		return
	}
	l.mu.Lock()
	l.requests++
	fault := l.takeFault(op)
	l.mu.Unlock()
	switch {
	case fault == nil:
	case fault.Stall:
		<-r.Context().Done()
		return
	case fault.Before != nil:
		fault.Before()
	}
	if fault != nil && fault.Body != "" {
		fault.answer(w)
		return
	}
	out := w
	if fault != nil && fault.Lost {
		out = &discard{h: http.Header{}}
	}
	if op == "query" {
		l.query(out, r)
	} else {
		featureCode := 0
		if fault != nil {
			featureCode = fault.FeatureCode
		}
		l.applyEdits(out, r, featureCode)
	}
	if fault != nil && fault.Lost {
		faults.Drop(w)
	}
}

// parseWhere accepts `FIELD = 'literal'`, quotes doubled inside the
// literal, and nothing else: an injection attempt is a syntax error.
func parseWhere(where string) (name, lit string, ok bool) {
	name, rest, found := strings.Cut(where, " = ")
	if !found || len(rest) < 2 || rest[0] != '\'' {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(rest); i++ {
		if rest[i] != '\'' {
			b.WriteByte(rest[i])
			continue
		}
		if i+1 < len(rest) && rest[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return name, b.String(), i == len(rest)-1
	}
	return "", "", false
}

func (l *Layer) query(w http.ResponseWriter, r *http.Request) {
	l.wheres.Add(r.Form.Get("where"))
	name, lit, ok := parseWhere(r.Form.Get("where"))
	if !ok || !strings.EqualFold(name, l.keyField) {
		fail(w, 400, "Unable to complete operation.", "'where' parameter is invalid")
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []int64
	for id, f := range l.features {
		if field.Get(f.Attributes, l.keyField) == lit {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if r.Form.Get("returnIdsOnly") == "true" {
		reply(w, map[string]any{"objectIdFieldName": "OBJECTID", "objectIds": ids})
		return
	}
	out := []map[string]any{}
	fields := strings.Split(r.Form.Get("outFields"), ",")
	for _, id := range ids {
		attrs := map[string]any{}
		for k, v := range l.features[id].Attributes {
			if slices.Contains(fields, "*") || slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, k) }) {
				attrs[k] = v
			}
		}
		feat := map[string]any{"attributes": attrs}
		if g := l.features[id].Geometry; r.Form.Get("returnGeometry") != "false" && len(g) > 0 {
			feat["geometry"] = g
		}
		out = append(out, feat)
	}
	reply(w, map[string]any{"objectIdFieldName": "OBJECTID", "features": out})
}

type editResult struct {
	ObjectID int64          `json:"objectId"`
	Success  bool           `json:"success"`
	Error    map[string]any `json:"error,omitempty"`
}

type edit struct {
	Attributes map[string]any  `json:"attributes"`
	Geometry   json.RawMessage `json:"geometry,omitempty"`
}

// applyEdits applies adds, updates and deletes; with
// rollbackOnFailure=true (the default) one failed edit undoes them all.
// A featureCode other than 0 refuses the first add or update with it.
func (l *Layer) applyEdits(w http.ResponseWriter, r *http.Request, featureCode int) {
	var adds, updates []edit
	for name, dst := range map[string]*[]edit{"adds": &adds, "updates": &updates} {
		if v := r.Form.Get(name); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				fail(w, 400, "Unable to complete operation.", "Invalid "+name+": "+err.Error())
				return
			}
		}
	}
	var deletes []int64
	if v := strings.TrimSpace(r.Form.Get("deletes")); v != "" {
		v = strings.Trim(v, "[]")
		for _, s := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				fail(w, 400, "Unable to complete operation.", "Invalid deletes")
				return
			}
			deletes = append(deletes, id)
		}
	}
	rollback := r.Form.Get("rollbackOnFailure") != "false"

	l.mu.Lock()
	defer l.mu.Unlock()
	next := make(map[int64]*Feature, len(l.features))
	for id, f := range l.features {
		c := clone(f)
		next[id] = &c
	}
	nextOID, failed := l.nextOID, false
	notFound := func(id int64) editResult {
		failed = true
		return editResult{ObjectID: id, Error: map[string]any{"code": 1019, "description": "Object is missing."}}
	}
	addRes, updRes, delRes := []editResult{}, []editResult{}, []editResult{}
	refuse := func(id int64, code int, desc string) editResult {
		failed = true
		return editResult{ObjectID: id, Error: map[string]any{"code": code, "description": desc}}
	}
	injected := func() bool { return featureCode != 0 && !failed }
	for _, a := range adds {
		if injected() {
			addRes = append(addRes, refuse(0, featureCode, "Unable to edit: error "+strconv.Itoa(featureCode)))
			continue
		}
		if l.unique && slices.ContainsFunc(slices.Collect(maps.Values(next)), func(f *Feature) bool {
			return field.Get(f.Attributes, l.keyField) == field.Get(a.Attributes, l.keyField)
		}) {
			addRes = append(addRes, refuse(0, 1000, "Cannot insert duplicate key row in object with unique index"))
			continue
		}
		nextOID++
		attrs := map[string]any{"OBJECTID": nextOID}
		l.set(attrs, a.Attributes)
		next[nextOID] = &Feature{ObjectID: nextOID, Attributes: attrs, Geometry: a.Geometry}
		addRes = append(addRes, editResult{ObjectID: nextOID, Success: true})
	}
	for _, u := range updates {
		id := toInt(field.Get(u.Attributes, "OBJECTID"))
		if injected() {
			updRes = append(updRes, refuse(id, featureCode, "Unable to edit: error "+strconv.Itoa(featureCode)))
			continue
		}
		cur, ok := next[id]
		if !ok {
			updRes = append(updRes, notFound(id))
			continue
		}
		l.set(cur.Attributes, u.Attributes)
		if u.Geometry != nil {
			cur.Geometry = u.Geometry
		}
		updRes = append(updRes, editResult{ObjectID: id, Success: true})
	}
	for _, id := range deletes {
		if _, ok := next[id]; !ok {
			delRes = append(delRes, notFound(id))
			continue
		}
		delete(next, id)
		delRes = append(delRes, editResult{ObjectID: id, Success: true})
	}
	if !failed || !rollback {
		l.features, l.nextOID = next, nextOID
		l.edits++
	}
	reply(w, map[string]any{"addResults": addRes, "updateResults": updRes, "deleteResults": delRes})
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	case int64:
		return n
	}
	return -1
}
