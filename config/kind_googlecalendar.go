package config

import (
	"context"
	"time"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
)

// GoogleCalendarSettings are the settings of kind googlecalendar.
type GoogleCalendarSettings struct {
	CalendarID   string `yaml:"calendarId,required"`
	Credentials  Secret `yaml:"credentials"`
	Endpoint     Value  `yaml:"endpoint"`
	Namespace    string `yaml:"namespace"`
	SendUpdates  string `yaml:"sendUpdates"`
	MaxConflicts int    `yaml:"maxConflicts"`
}

func googleCalendarKind() *Kind {
	return typedKind[GoogleCalendarSettings]{
		Name: "googlecalendar",
		Doc: "A Google Calendar (connectors/googlecalendar): one event per key. credentials is a service account's JSON key; without it, " +
			"Application Default Credentials are used, or no authentication when endpoint names a test server.",
		Fields: calendarFields,
		Check: func(cfg *GoogleCalendarSettings) []FieldError {
			var errs []FieldError
			if cfg.Endpoint.Set() {
				errs = addressErrors("endpoint", cfg.Endpoint)
			}
			errs = append(errs, choiceErrors("sendUpdates", cfg.SendUpdates, `want "all", "externalOnly" or "none"`, "all", "externalOnly", "none")...)
			return append(errs, conflictErrors(cfg.MaxConflicts)...)
		},
		New: func(ctx context.Context, b *Binding, cfg *GoogleCalendarSettings) (synclayer.Connector, error) {
			endpoint, err := b.URL(cfg.Endpoint)
			if err != nil {
				return nil, err
			}
			var opts []option.ClientOption
			if endpoint != "" {
				opts = append(opts, option.WithEndpoint(endpoint))
			}
			creds, err := b.Secret(cfg.Credentials)
			switch {
			case err != nil:
				return nil, err
			case creds != "":
				opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, []byte(creds)))
			case endpoint != "":
				opts = append(opts, option.WithoutAuthentication())
			}
			svc, err := calendar.NewService(ctx, opts...)
			if err != nil {
				return nil, err
			}
			return googlecalendar.New(googlecalendar.Config{Service: svc, CalendarID: cfg.CalendarID,
				Namespace: cfg.Namespace, SendUpdates: cfg.SendUpdates, MaxConflicts: cfg.MaxConflicts})
		},
		Payload: func(r RecordValue) (any, error) {
			ev, err := readCalendarEvent(r)
			if err != nil {
				return nil, err
			}
			out := &calendar.Event{Summary: ev.summary, Description: ev.description, Location: ev.location}
			if ev.allDay {
				out.Start = &calendar.EventDateTime{Date: ev.start.Format(time.DateOnly)}
				out.End = &calendar.EventDateTime{Date: ev.end.Format(time.DateOnly)}
				return out, nil
			}
			end := ev.end
			if end.IsZero() {
				end = ev.start
			}
			out.Start = &calendar.EventDateTime{DateTime: ev.start.UTC().Format(time.RFC3339)}
			out.End = &calendar.EventDateTime{DateTime: end.UTC().Format(time.RFC3339)}
			return out, nil
		},
	}.kind()
}
