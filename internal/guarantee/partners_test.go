package guarantee

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	calendar "google.golang.org/api/calendar/v3"
)

// The partners below are small in-memory stand-ins for the three partner
// systems of the soak test, written from the documented wire formats (see
// PROTOCOLS.md). Each keeps its records the way the real system does, so
// that a duplicate the library causes shows up as a second record, and
// counts the writes it applied.

// item is the event Data of the soak: one version of one record.
type item struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
	Title   string `json:"title"`
}

// restPartner is a records API: PUT /records/{key} creates or replaces the
// record at that URL.
type restPartner struct {
	mu      sync.Mutex
	records map[string]item
	writes  int
	regress []string // writes that replaced a newer version with an older one
}

func newRESTPartner() *restPartner { return &restPartner{records: map[string]item{}} }

func (p *restPartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.URL.EscapedPath(), "/records/")
	key, err := url.PathUnescape(raw)
	if !ok || err != nil || strings.Contains(raw, "/") {
		http.Error(w, "no such resource", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Idempotency-Key") == "" {
		http.Error(w, "Idempotency-Key required", http.StatusBadRequest)
		return
	}
	var it item
	if err := json.NewDecoder(r.Body).Decode(&it); err != nil || it.Key != key {
		http.Error(w, "bad record", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	old, existed := p.records[key]
	if existed && old.Version > it.Version {
		p.regress = append(p.regress, fmt.Sprintf("%s: v%d over v%d", key, it.Version, old.Version))
	}
	p.records[key] = it
	p.writes++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if existed {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(it)
}

// versions returns key -> the versions the partner holds for it.
func (p *restPartner) versions() map[string][]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]int64, len(p.records))
	for k, it := range p.records {
		out[k] = []int64{it.Version}
	}
	return out
}

// arcgisPartner is one layer of a Feature Service with the fields
// OBJECTID, KEY, VERSION and TITLE and no unique index on KEY: two adds of
// one key make two features, as on a real layer without the index.
type arcgisPartner struct {
	mu       sync.Mutex
	nextOID  int64
	features map[int64]map[string]any // by OBJECTID
	writes   int
}

const layerPath = "/arcgis/rest/services/soak/FeatureServer/0"

func newArcGISPartner() *arcgisPartner {
	return &arcgisPartner{features: map[int64]map[string]any{}}
}

var whereKey = regexp.MustCompile(`^KEY = '((?:[^']|'')*)'$`)

func arcgisErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "details": []string{}}})
}

func (p *arcgisPartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		arcgisErr(w, 405, "POST only")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("f") != "json" {
		arcgisErr(w, 400, "bad form")
		return
	}
	switch r.URL.Path {
	case layerPath + "/query":
		p.query(w, r.PostForm)
	case layerPath + "/applyEdits":
		p.applyEdits(w, r.PostForm)
	default:
		arcgisErr(w, 404, "not found")
	}
}

func (p *arcgisPartner) query(w http.ResponseWriter, form url.Values) {
	m := whereKey.FindStringSubmatch(form.Get("where"))
	if m == nil {
		arcgisErr(w, 400, "unsupported where clause")
		return
	}
	key := strings.ReplaceAll(m[1], "''", "'")
	type feat struct {
		Attributes map[string]any `json:"attributes"`
	}
	feats := []feat{}
	p.mu.Lock()
	for oid, a := range p.features {
		if a["KEY"] == key {
			feats = append(feats, feat{Attributes: map[string]any{"OBJECTID": oid, "KEY": key, "VERSION": a["VERSION"]}})
		}
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"objectIdFieldName": "OBJECTID", "features": feats})
}

type editResult struct {
	ObjectID int64          `json:"objectId"`
	Success  bool           `json:"success"`
	Error    map[string]any `json:"error,omitempty"`
}

func (p *arcgisPartner) applyEdits(w http.ResponseWriter, form url.Values) {
	type feature struct {
		Attributes map[string]any  `json:"attributes"`
		Geometry   json.RawMessage `json:"geometry"`
	}
	var adds, updates []feature
	for name, dst := range map[string]*[]feature{"adds": &adds, "updates": &updates} {
		if v := form.Get(name); v != "" {
			d := json.NewDecoder(strings.NewReader(v))
			d.UseNumber()
			if err := d.Decode(dst); err != nil {
				arcgisErr(w, 400, name+" is not JSON")
				return
			}
		}
	}
	var deletes []int64
	if v := form.Get("deletes"); v != "" {
		for s := range strings.SplitSeq(v, ",") {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				arcgisErr(w, 400, "bad deletes")
				return
			}
			deletes = append(deletes, id)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// rollbackOnFailure: check everything first.
	for _, u := range updates {
		oid := num(u.Attributes["OBJECTID"])
		if p.features[oid] == nil {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"addResults": []editResult{}, "deleteResults": []editResult{},
				"updateResults": []editResult{{ObjectID: oid, Error: map[string]any{"code": 1019, "description": "feature not found"}}}})
			return
		}
	}
	// A unique index on KEY, as the ArcGIS protocol's idempotent upsert
	// needs: an add that timed out at the client can still land later, and
	// without the index the retry's add would make a second feature. The
	// connector turns a refused add into a query and an update.
	for _, a := range adds {
		for _, f := range p.features {
			if f["KEY"] == a.Attributes["KEY"] {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"addResults": []editResult{{Error: map[string]any{"code": 1000,
					"description": "Cannot insert duplicate key row in object with unique index"}}},
					"deleteResults": []editResult{}, "updateResults": []editResult{}})
				return
			}
		}
	}
	out := struct {
		AddResults    []editResult `json:"addResults"`
		UpdateResults []editResult `json:"updateResults"`
		DeleteResults []editResult `json:"deleteResults"`
	}{[]editResult{}, []editResult{}, []editResult{}}
	attrs := func(a map[string]any) map[string]any {
		return map[string]any{"KEY": a["KEY"], "VERSION": num(a["VERSION"]), "TITLE": a["TITLE"]}
	}
	for _, f := range adds {
		p.nextOID++
		p.features[p.nextOID] = attrs(f.Attributes)
		out.AddResults = append(out.AddResults, editResult{ObjectID: p.nextOID, Success: true})
	}
	for _, u := range updates {
		oid := num(u.Attributes["OBJECTID"])
		p.features[oid] = attrs(u.Attributes)
		out.UpdateResults = append(out.UpdateResults, editResult{ObjectID: oid, Success: true})
	}
	for _, oid := range deletes {
		_, ok := p.features[oid]
		delete(p.features, oid)
		out.DeleteResults = append(out.DeleteResults, editResult{ObjectID: oid, Success: ok})
	}
	p.writes++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// num reads a JSON number decoded with UseNumber; anything else is 0.
func num(v any) int64 {
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return i
}

func (p *arcgisPartner) versions() map[string][]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]int64{}
	for _, a := range p.features {
		k := a["KEY"].(string)
		out[k] = append(out[k], a["VERSION"].(int64))
	}
	return out
}

// calendarPartner is the Events collection of Google Calendar API v3 for
// any calendar: insert with a client-chosen id (409 duplicate when it
// exists), get, update with If-Match (412 on a stale ETag), delete
// (cancels).
type calendarPartner struct {
	mu     sync.Mutex
	events map[string]*calendar.Event // by calendar + "/" + id
	etag   int
	writes int
}

func newCalendarPartner() *calendarPartner {
	return &calendarPartner{events: map[string]*calendar.Event{}}
}

var calPath = regexp.MustCompile(`^/calendars/([^/]+)/events(?:/([^/]+))?$`)

func calErr(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": reason,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": reason}},
	}})
}

func (p *calendarPartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := calPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		calErr(w, 404, "notFound")
		return
	}
	cal, _ := url.PathUnescape(m[1])
	id, _ := url.PathUnescape(m[2])
	var body calendar.Event
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			calErr(w, 400, "parseError")
			return
		}
	} else {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	if r.Method == http.MethodPost {
		if id != "" {
			calErr(w, 404, "notFound")
			return
		}
		id = body.Id
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := cal + "/" + id
	cur := p.events[k]
	store := func(ev *calendar.Event) *calendar.Event {
		p.etag++
		ev.Id = id
		ev.Etag = `"` + strconv.Itoa(p.etag) + `"`
		p.events[k] = ev
		p.writes++
		return ev
	}
	ifMatch := r.Header.Get("If-Match")
	var out *calendar.Event
	switch r.Method {
	case http.MethodPost:
		switch {
		case len(id) < 5 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuv") != "":
			calErr(w, 400, "invalid")
			return
		case body.Start == nil || body.End == nil:
			calErr(w, 400, "required")
			return
		case cur != nil:
			calErr(w, 409, "duplicate")
			return
		}
		out = store(&body)
	case http.MethodGet:
		if cur == nil {
			calErr(w, 404, "notFound")
			return
		}
		out = cur
	case http.MethodPut:
		switch {
		case cur == nil:
			calErr(w, 404, "notFound")
			return
		case ifMatch != "" && ifMatch != cur.Etag:
			calErr(w, 412, "conditionNotMet")
			return
		}
		out = store(&body)
	case http.MethodDelete:
		switch {
		case cur == nil:
			calErr(w, 404, "notFound")
		case cur.Status == "cancelled":
			calErr(w, 410, "deleted")
		case ifMatch != "" && ifMatch != cur.Etag:
			calErr(w, 412, "conditionNotMet")
		default:
			c := *cur
			c.Status = "cancelled"
			store(&c)
			w.WriteHeader(http.StatusNoContent)
		}
		return
	default:
		calErr(w, 405, "methodNotAllowed")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(out)
}

// versions returns key -> versions of the confirmed events, read from the
// private extended properties the connector sets.
func (p *calendarPartner) versions() map[string][]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]int64{}
	for _, ev := range p.events {
		if ev.Status == "cancelled" || ev.ExtendedProperties == nil {
			continue
		}
		k := ev.ExtendedProperties.Private["synclayerKey"]
		v, _ := strconv.ParseInt(ev.ExtendedProperties.Private["synclayerVersion"], 10, 64)
		out[k] = append(out[k], v)
	}
	return out
}
