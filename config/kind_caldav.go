package config

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/caldav"
)

// CalDAVSettings are the settings of kind caldav.
type CalDAVSettings struct {
	CollectionURL Value  `yaml:"collectionUrl,required"`
	Username      Value  `yaml:"username"`
	Password      Secret `yaml:"password"`
	Token         Secret `yaml:"token"`
	Namespace     string `yaml:"namespace"`
	ProdID        string `yaml:"prodId"`
	MaxConflicts  int    `yaml:"maxConflicts"`
}

func caldavKind() *Kind {
	return typedKind[CalDAVSettings]{
		Name:   "caldav",
		Doc:    "A CalDAV calendar collection such as Radicale, Xandikos or Nextcloud (connectors/caldav): one VEVENT per key. Credentials: username and password (basic), or a bearer token, sent to the collection's scheme, host and port only (not on a redirect elsewhere).",
		Fields: calendarFields,
		Check: func(cfg *CalDAVSettings) []FieldError {
			errs := addressErrors("collectionUrl", cfg.CollectionURL)
			if cfg.Password.Set() != cfg.Username.Set() {
				errs = append(errs, FieldError{"password", "username and password go together"})
			}
			if cfg.Token.Set() && cfg.Password.Set() {
				errs = append(errs, FieldError{"token", "give a token or a username and password, not both"})
			}
			return append(errs, conflictErrors(cfg.MaxConflicts)...)
		},
		New: func(_ context.Context, b *Binding, cfg *CalDAVSettings) (synclayer.Connector, error) {
			collection, err := b.URL(cfg.CollectionURL)
			if err != nil {
				return nil, err
			}
			user, pass, err := b.login(cfg.Username, cfg.Password)
			if err != nil {
				return nil, err
			}
			token, err := b.Secret(cfg.Token)
			if err != nil {
				return nil, err
			}
			var client *http.Client
			if user != "" || token != "" {
				u, err := url.Parse(collection)
				if err != nil {
					return nil, fmt.Errorf("collectionUrl: %w", err)
				}
				client = &http.Client{Transport: &authTransport{origin: originOf(u), user: user, pass: pass, token: token, next: http.DefaultTransport}}
			}
			return caldav.New(caldav.Config{CollectionURL: collection, HTTPClient: client,
				Namespace: cfg.Namespace, ProdID: cfg.ProdID, MaxConflicts: cfg.MaxConflicts})
		},
		Payload: func(r RecordValue) (any, error) {
			ev, err := readCalendarEvent(r)
			if err != nil {
				return nil, err
			}
			return caldav.Event{Summary: ev.summary, Description: ev.description, Location: ev.location,
				Start: ev.start, End: ev.end, AllDay: ev.allDay}, nil
		},
	}.kind()
}

// authTransport adds basic or bearer credentials to each request to
// origin, the collection's scheme, host and port. A request elsewhere (a
// redirect to another host, port or scheme) goes without them.
type authTransport struct {
	origin            string
	user, pass, token string
	next              http.RoundTripper
}

// RoundTrip sends the request, with the credentials when it goes to the
// collection's origin.
func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if originOf(r.URL) != t.origin {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		r.SetBasicAuth(t.user, t.pass)
	}
	return t.next.RoundTrip(r)
}

// originOf returns u's scheme, host and port (the scheme's default when
// u has none), lower case.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
