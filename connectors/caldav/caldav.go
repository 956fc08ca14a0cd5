package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
	"github.com/hmsplatform/synclayer/connectors/partner"
	"github.com/hmsplatform/synclayer/internal/httpx"

	"github.com/hmsplatform/synclayer/internal/option"
)

// DefaultNamespace is the namespace of a Config that sets none.
const DefaultNamespace = "synclayer"

// DefaultProdID is the PRODID of a Config that sets none.
const DefaultProdID = "-//hmsplatform//synclayer//EN"

// Config configures a [Connector]. CollectionURL is required.
//
// A zero field means its default; New refuses an invalid value (a
// negative number, a malformed URL, a field it cannot use) with an error
// that names the field and wraps synclayer.ErrInvalidOption. Nothing
// panics.
type Config struct {
	// CollectionURL is the calendar collection, an absolute http(s) URL
	// such as "https://dav.example/alice/work/". A missing final slash is
	// added. It must not carry credentials: put them in HTTPClient.
	CollectionURL string
	// HTTPClient sends the requests and carries the credentials (default
	// http.DefaultClient).
	HTTPClient *http.Client
	// Namespace is mixed into object names and UIDs (default
	// [DefaultNamespace]). Changing it orphans the objects already written.
	Namespace string
	// ProdID is the calendar's PRODID (default [DefaultProdID]).
	ProdID string
	// Now gives DTSTAMP (default time.Now).
	Now func() time.Time
	// MaxConflicts is how often a write that meets a concurrent change
	// (412) re-reads and tries again within one Sync (default 3).
	MaxConflicts int
	// OwnedFields names the VEVENT properties the partner owns, such as
	// "DESCRIPTION" for notes a team adds in its calendar client (case
	// does not matter). They are never compared by Verify, and Sync and
	// Repair keep the values the server holds (or their absence) when
	// they overwrite an object; a new object gets the record's values.
	// Owning DTEND owns DURATION too, and the event's length: when the
	// record moves DTSTART, a kept DTEND moves by as much (so the event
	// never ends before it starts, RFC 5545 §3.6.1), a kept DURATION
	// moves with it, and a kept end of the other value type than the
	// record's DTSTART (a DATE against a time) gives way to the
	// record's end. Owning DTSTART alone owns when the event starts, not
	// how long it lasts: the record's DTEND moves by as much as the kept
	// start is away from the record's DTSTART, keeping the record's
	// length (and Verify compares DTEND with that end), and a kept start
	// that cannot carry that end (absent, unreadable, or of the other
	// value type than the record's DTSTART) gives way to the record's
	// DTSTART: the record decides whether the event is all-day or
	// timed. Owning both keeps both as the server holds them. A kept
	// time with a TZID parameter is read in the zone the TZID names: an
	// IANA name, a Windows zone name as Outlook and Exchange write
	// ("W. Europe Standard Time", through Unicode CLDR's mapping), or an
	// IANA name behind a path ("/mozilla.org/20050126_1/Europe/Berlin"),
	// else by the rules of the object's VTIMEZONE of that TZID
	// (Outlook's "Customized Time Zone", a display name such as
	// "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna");
	// a TZID that none of these define is unreadable. It keeps its TZID
	// as written and brings the server's VTIMEZONE of that TZID along.
	// UID, X-SYNCLAYER-KEY and X-SYNCLAYER-VERSION cannot be owned.
	OwnedFields []string
}

// Connector keeps one calendar object per record key in a CalDAV
// collection. Build it with [New]. It is safe for concurrent use.
type Connector struct {
	cfg        Config
	client     *http.Client
	collection *url.URL
	cls        httpx.Classifier
	owned      map[string]bool // upper-case names of the owned properties
}

var _ synclayer.Connector = (*Connector)(nil)

// maxObject bounds how much of a stored object is read.
const maxObject = 1 << 20

// New checks cfg and returns a connector.
func New(cfg Config) (*Connector, error) {
	u, err := httpx.ParseEndpoint("Config.CollectionURL", cfg.CollectionURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("caldav: %w: %w", option.ErrInvalid, err)
	case u.User != nil:
		return nil, fmt.Errorf("caldav: %w: Config.CollectionURL %q carries credentials; put them in Config.HTTPClient", option.ErrInvalid, httpx.RedactURL(u, true))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("caldav: %w: Config.CollectionURL %q must not have a query or fragment", option.ErrInvalid, httpx.RedactURL(u, false))
	case cfg.MaxConflicts < 0:
		return nil, fmt.Errorf("caldav: %w", option.NonNegative("Config.MaxConflicts", cfg.MaxConflicts))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.ProdID == "" {
		cfg.ProdID = DefaultProdID
	}
	if strings.ContainsFunc(cfg.ProdID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("caldav: %w: Config.ProdID holds control characters", option.ErrInvalid)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConflicts == 0 {
		cfg.MaxConflicts = 3
	}
	owned, err := ownedSet(cfg.OwnedFields)
	if err != nil {
		return nil, err
	}
	c := &Connector{cfg: cfg, client: cfg.HTTPClient, collection: u, cls: httpx.Classifier{Prefix: "caldav"}, owned: owned}
	if c.client == nil {
		c.client = http.DefaultClient
	}
	return c, nil
}

// ObjectName returns the name of key's object in the collection: 52
// characters of 0-9 and a-v, then ".ics".
func ObjectName(namespace, key string) string { return keyid.Object(namespace, key) + ".ics" }

// UID returns the UID of key's event.
func UID(namespace, key string) string { return keyid.Object(namespace, key) + "@synclayer" }

// ObjectURL returns the URL of key's object.
func (c *Connector) ObjectURL(key string) string {
	return c.collection.JoinPath(ObjectName(c.cfg.Namespace, key)).String()
}

// Sync upserts or deletes the object of rec.Key; see the package doc.
func (c *Connector) Sync(ctx context.Context, rec synclayer.Record) error {
	var ev Event
	var body []byte
	if !rec.Delete {
		p, err := c.payload(rec)
		if err != nil {
			return err
		}
		b, err := c.encode(rec.Key, rec.Version, p)
		if err != nil {
			return c.invalid(rec.Key, err)
		}
		ev, body = p, b
	}
	target := c.ObjectURL(rec.Key)
	for range c.cfg.MaxConflicts {
		cur, etag, exists, err := c.get(ctx, target, rec.Key)
		if err != nil {
			return err
		}
		if exists && rec.Version != 0 && cur.version > rec.Version {
			return nil // a newer version is there
		}
		var done bool
		if rec.Delete {
			if !exists {
				return nil
			}
			done, err = c.remove(ctx, target, etag)
		} else {
			b := body
			if held := cur.master(); exists && len(c.owned) > 0 && held != nil {
				// Keep the properties the partner owns as it holds them.
				if b, err = c.body(rec.Key, rec.Version, ev, held, cur.cal); err != nil {
					return c.invalid(rec.Key, err)
				}
			}
			done, err = c.put(ctx, target, b, etag, exists, rec.Key)
		}
		if err != nil || done {
			return err
		}
		// 412: changed since we read it; read again.
	}
	e := &partner.Error{Prefix: "caldav", Method: http.MethodPut, URL: httpx.RedactURL(mustParse(target), false), StatusCode: http.StatusPreconditionFailed,
		Status: fmt.Sprintf("412 Precondition Failed %d times in a row (changed concurrently)", c.cfg.MaxConflicts), Kind: partner.ErrConflict}
	return e // retryable: the next attempt reads again
}

// get reads the object: what it holds, its ETag, and whether it exists.
func (c *Connector) get(ctx context.Context, target, key string) (stored, string, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return stored{}, "", false, synclayer.Permanent(fmt.Errorf("caldav: %w", err))
	}
	req.Header.Set("Accept", "text/calendar")
	resp, err := c.client.Do(req)
	if err == nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone) {
		httpx.Discard(resp)
		return stored{}, "", false, nil
	}
	if err := c.cls.Check(req, resp, err); err != nil {
		return stored{}, "", false, err
	}
	body, rerr := httpx.ReadBody(resp, maxObject)
	if rerr != nil {
		return stored{}, "", false, c.cls.Network(req, rerr)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return stored{}, "", false, httpx.Wrap(c.cls.New(req, resp, nil, partner.ErrRejected,
			errors.New("the server sent no ETag, so the object cannot be updated safely")))
	}
	s := parse(body)
	if other, ok := s.otherKey(key); ok {
		return stored{}, "", false, synclayer.Permanent(fmt.Errorf("caldav: %s: %w: it holds key %q, not %q",
			httpx.RedactURL(req.URL, false), partner.ErrKeyMismatch, other, key))
	}
	return s, etag, true, nil
}

// put writes body under the precondition; done is false after a 412.
func (c *Connector) put(ctx context.Context, target string, body []byte, etag string, exists bool, key string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(body))
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("caldav: %w", err))
	}
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	if exists {
		req.Header.Set("If-Match", etag)
	} else {
		req.Header.Set("If-None-Match", "*")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return false, c.cls.Network(req, err)
	}
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed:
		httpx.Discard(resp)
		return false, nil
	case resp.StatusCode == http.StatusMultiStatus || resp.StatusCode == http.StatusConflict:
		// Radicale answers 409 with CALDAV:no-uid-conflict; Xandikos a
		// multi-status with a failed precondition inside.
		b, _ := httpx.ReadBody(resp, httpx.MaxSnippet)
		cause := fmt.Errorf("%w: UID %s (key %q)", ErrUIDConflict, UID(c.cfg.Namespace, key), key)
		if !bytes.Contains(b, []byte("no-uid-conflict")) {
			if resp.StatusCode == http.StatusConflict {
				return false, c.cls.Response(req, resp, b) // e.g. the collection is missing
			}
			cause = errors.New("multi-status answer to PUT: the object was not stored")
		}
		return false, httpx.Wrap(c.cls.New(req, resp, b, partner.ErrConflict, cause))
	}
	if err := c.cls.Check(req, resp, nil); err != nil {
		return false, err
	}
	return true, httpx.Discard(resp)
}

// remove deletes the object under If-Match; done is false after a 412.
func (c *Connector) remove(ctx context.Context, target, etag string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, target, nil)
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("caldav: %w", err))
	}
	req.Header.Set("If-Match", etag)
	resp, err := c.client.Do(req)
	if err != nil {
		return false, c.cls.Network(req, err)
	}
	switch resp.StatusCode {
	case http.StatusPreconditionFailed:
		httpx.Discard(resp)
		return false, nil
	case http.StatusNotFound, http.StatusGone:
		httpx.Discard(resp)
		return true, nil
	}
	if err := c.cls.Check(req, resp, nil); err != nil {
		return false, err
	}
	return true, httpx.Discard(resp)
}

// payload returns rec's Event, or a permanent error naming what it holds
// instead.
func (c *Connector) payload(rec synclayer.Record) (Event, error) {
	switch p := rec.Payload.(type) {
	case Event:
		return p, nil
	case *Event:
		if p == nil {
			return Event{}, c.invalid(rec.Key, errors.New("payload is a nil *caldav.Event"))
		}
		return *p, nil
	}
	return Event{}, c.invalid(rec.Key, fmt.Errorf("payload is %T, want caldav.Event or *caldav.Event", rec.Payload))
}

func (c *Connector) invalid(key string, err error) error {
	return synclayer.Permanent(fmt.Errorf("caldav: key %q: %w: %w", key, partner.ErrPayload, err))
}

func mustParse(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}
