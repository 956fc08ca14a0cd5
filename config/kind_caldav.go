package config

import (
	"context"
	"net/http"

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
		Doc:    "A CalDAV calendar collection such as Radicale, Xandikos or Nextcloud (connectors/caldav): one VEVENT per key. Credentials: username and password (basic), or a bearer token.",
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
				client = &http.Client{Transport: &authTransport{user: user, pass: pass, token: token, next: http.DefaultTransport}}
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

// authTransport adds basic or bearer credentials to each request.
type authTransport struct {
	user, pass, token string
	next              http.RoundTripper
}

// RoundTrip sends the request with the credentials.
func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		r.SetBasicAuth(t.user, t.pass)
	}
	return t.next.RoundTrip(r)
}
