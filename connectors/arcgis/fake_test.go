package arcgis_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeLayer is an in-memory ArcGIS feature layer that answers query and
// applyEdits in the documented JSON, including error bodies with HTTP 200
// and per-feature failures.
type fakeLayer struct {
	t        testing.TB
	srv      *httptest.Server
	keyField string
	token    string // required bearer token, "" for none
	unique   bool   // a unique index on keyField: adding a taken key fails

	mu       sync.Mutex
	nextOID  int64
	features map[int64]*fakeFeature
	faults   []fakeFault
	wheres   []string
	requests int
}

type fakeFeature struct {
	Attributes map[string]any  `json:"attributes"`
	Geometry   json.RawMessage `json:"geometry,omitempty"`
}

// fakeFault makes one request misbehave.
type fakeFault struct {
	op     string // "query" or "applyEdits"; "" for any
	status int    // HTTP status of a canned answer (default 200)
	body   string // canned answer; "" with lost or featureCode
	header http.Header
	// lost applies the edits, then drops the connection unanswered.
	lost bool
	// stall holds the request until the client gives up.
	stall bool
	// before runs before the request is handled, without the lock (a
	// concurrent writer).
	before func()
	// featureCode fails the first edit of applyEdits with this code (and
	// rolls back the whole request).
	featureCode int
}

const layerPath = "/arcgis/rest/services/Assets/FeatureServer/0"

func newFakeLayer(t testing.TB, keyField string) *fakeLayer {
	f := &fakeLayer{t: t, keyField: keyField, features: map[int64]*fakeFeature{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLayer) layerURL() string { return f.srv.URL + layerPath }

func (f *fakeLayer) inject(fl ...fakeFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fl...)
}

// seed adds a feature directly, as another editor would.
func (f *fakeLayer) seed(attrs map[string]any) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextOID++
	a := map[string]any{"OBJECTID": float64(f.nextOID)}
	for k, v := range attrs {
		a[k] = v
	}
	f.features[f.nextOID] = &fakeFeature{Attributes: a}
	return f.nextOID
}

// byKey returns the features holding key, lowest object id first.
func (f *fakeLayer) byKey(key string) []fakeFeature {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for id, ft := range f.features {
		if ft.Attributes[f.keyField] == key {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]fakeFeature, len(ids))
	for i, id := range ids {
		out[i] = *f.features[id]
	}
	return out
}

func (f *fakeLayer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.features)
}

func (f *fakeLayer) whereClauses() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.wheres)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func arcErr(code int, msg string, details ...string) map[string]any {
	if details == nil {
		details = []string{}
	}
	return map[string]any{"error": map[string]any{"code": code, "message": msg, "details": details}}
}

func (f *fakeLayer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, 200, arcErr(405, "Method not allowed"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 200, arcErr(400, "bad form"))
		return
	}
	if r.URL.RawQuery != "" || r.PostForm.Has("token") {
		f.t.Errorf("token or query in request URL/form: %q %v", r.URL.RawQuery, r.PostForm)
	}
	if r.PostForm.Get("f") != "json" {
		writeJSON(w, 200, arcErr(400, "f=json missing: this would be HTML"))
		return
	}
	op := strings.TrimPrefix(r.URL.Path, layerPath+"/")
	if op != "query" && op != "applyEdits" {
		writeJSON(w, 200, arcErr(400, "Invalid URL"))
		return
	}
	if f.token != "" {
		switch h := r.Header.Get("X-Esri-Authorization"); h {
		case "Bearer " + f.token:
		case "":
			writeJSON(w, 200, arcErr(499, "Token Required"))
			return
		default:
			writeJSON(w, 200, arcErr(498, "Invalid token."))
			return
		}
	}

	f.mu.Lock()
	f.requests++
	var fault *fakeFault
	for i, fl := range f.faults {
		if fl.op == "" || fl.op == op {
			fault = &fl
			f.faults = slices.Delete(f.faults, i, i+1)
			break
		}
	}
	f.mu.Unlock()
	if fault != nil && fault.stall {
		<-r.Context().Done()
		return
	}
	if fault != nil && fault.before != nil {
		fault.before()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault != nil && fault.body != "" {
		for k, v := range fault.header {
			w.Header()[k] = v
		}
		st := fault.status
		if st == 0 {
			st = 200
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		_, _ = w.Write([]byte(fault.body))
		return
	}
	if op == "query" {
		f.query(w, r)
		return
	}
	featureCode := 0
	if fault != nil {
		featureCode = fault.featureCode
	}
	res, ok := f.applyEdits(w, r, featureCode)
	if !ok {
		return
	}
	if fault != nil && fault.lost {
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Error("cannot hijack")
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	writeJSON(w, 200, res)
}

// parseWhere accepts exactly `FIELD = 'literal'` with quotes doubled
// inside the literal, as a strict SQL parser would.
func parseWhere(where string) (field, lit string, err error) {
	field, rest, ok := strings.Cut(where, " = ")
	if !ok || rest == "" || rest[0] != '\'' {
		return "", "", fmt.Errorf("not FIELD = 'literal': %q", where)
	}
	var b strings.Builder
	i := 1
	for {
		if i >= len(rest) {
			return "", "", fmt.Errorf("unterminated string in %q", where)
		}
		c := rest[i]
		if c == '\'' {
			if i+1 < len(rest) && rest[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			if i+1 != len(rest) {
				return "", "", fmt.Errorf("trailing SQL after the string in %q", where)
			}
			return field, b.String(), nil
		}
		b.WriteByte(c)
		i++
	}
}

func (f *fakeLayer) query(w http.ResponseWriter, r *http.Request) {
	where := r.PostForm.Get("where")
	f.wheres = append(f.wheres, where)
	field, lit, err := parseWhere(where)
	if err != nil || field != f.keyField {
		writeJSON(w, 200, arcErr(400, "Unable to complete operation.", "'where' parameter is invalid"))
		return
	}
	outFields := strings.Split(r.PostForm.Get("outFields"), ",")
	var ids []int64
	for id, ft := range f.features {
		if ft.Attributes[f.keyField] == lit {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	feats := []map[string]any{}
	for _, id := range ids {
		a := map[string]any{}
		for _, of := range outFields {
			if v, ok := f.features[id].Attributes[of]; ok {
				a[of] = v
			}
		}
		feats = append(feats, map[string]any{"attributes": a})
	}
	writeJSON(w, 200, map[string]any{"objectIdFieldName": "OBJECTID", "features": feats})
}

type editRes struct {
	ObjectID int64          `json:"objectId"`
	Success  bool           `json:"success"`
	Error    map[string]any `json:"error,omitempty"`
}

func (f *fakeLayer) applyEdits(w http.ResponseWriter, r *http.Request, featureCode int) (map[string]any, bool) {
	var adds, updates []fakeFeature
	for name, dst := range map[string]*[]fakeFeature{"adds": &adds, "updates": &updates} {
		if v := r.PostForm.Get(name); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				writeJSON(w, 200, arcErr(400, "Invalid "+name))
				return nil, false
			}
		}
	}
	var deletes []int64
	if v := r.PostForm.Get("deletes"); v != "" {
		for _, s := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				writeJSON(w, 200, arcErr(400, "Invalid deletes"))
				return nil, false
			}
			deletes = append(deletes, id)
		}
	}
	if r.PostForm.Get("rollbackOnFailure") != "true" {
		f.t.Errorf("applyEdits without rollbackOnFailure=true")
	}
	// Work on a copy; commit only if every edit succeeds.
	next := map[int64]*fakeFeature{}
	for id, ft := range f.features {
		cp := *ft
		next[id] = &cp
	}
	nextOID := f.nextOID
	failed := false
	fail := func(code int) map[string]any {
		failed = true
		return map[string]any{"code": code, "description": "Unable to edit: error " + strconv.Itoa(code)}
	}
	addRes, updRes, delRes := []editRes{}, []editRes{}, []editRes{}
	for _, a := range adds {
		if featureCode != 0 && !failed {
			addRes = append(addRes, editRes{Success: false, Error: fail(featureCode)})
			continue
		}
		if f.unique && slices.ContainsFunc(mapsValues(next), func(ft *fakeFeature) bool { return ft.Attributes[f.keyField] == a.Attributes[f.keyField] }) {
			failed = true
			addRes = append(addRes, editRes{Success: false, Error: map[string]any{"code": 1000, "description": "Cannot insert duplicate key row in object with unique index"}})
			continue
		}
		nextOID++
		attrs := map[string]any{}
		for k, v := range a.Attributes {
			attrs[k] = v
		}
		attrs["OBJECTID"] = float64(nextOID)
		next[nextOID] = &fakeFeature{Attributes: attrs, Geometry: a.Geometry}
		addRes = append(addRes, editRes{ObjectID: nextOID, Success: true})
	}
	for _, u := range updates {
		oidF, _ := u.Attributes["OBJECTID"].(float64)
		oid := int64(oidF)
		cur, ok := next[oid]
		switch {
		case featureCode != 0 && !failed:
			updRes = append(updRes, editRes{ObjectID: oid, Success: false, Error: fail(featureCode)})
			continue
		case !ok:
			updRes = append(updRes, editRes{ObjectID: oid, Success: false, Error: fail(1019)})
			continue
		}
		for k, v := range u.Attributes {
			cur.Attributes[k] = v
		}
		if u.Geometry != nil {
			cur.Geometry = u.Geometry
		}
		updRes = append(updRes, editRes{ObjectID: oid, Success: true})
	}
	for _, id := range deletes {
		if _, ok := next[id]; !ok {
			delRes = append(delRes, editRes{ObjectID: id, Success: false, Error: fail(1019)})
			continue
		}
		delete(next, id)
		delRes = append(delRes, editRes{ObjectID: id, Success: true})
	}
	if !failed {
		f.features, f.nextOID = next, nextOID
	}
	return map[string]any{"addResults": addRes, "updateResults": updRes, "deleteResults": delRes}, true
}

func mapsValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
