package config

import (
	"context"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/webhook"
)

// WebhookSettings are the settings of kind webhook.
type WebhookSettings struct {
	URL             Value            `yaml:"url,required"`
	Secrets         []Secret         `yaml:"secrets,required"`
	Headers         map[string]Value `yaml:"headers"`
	MaxPayloadBytes int              `yaml:"maxPayloadBytes"`
}

func webhookKind() *Kind {
	return typedKind[WebhookSettings]{
		Name: "webhook",
		Doc:  "A Standard Webhooks receiver (connectors/webhook): each record is POSTed as a signed message. The record is the message's data.",
		Open: true,
		Check: func(cfg *WebhookSettings) []FieldError {
			errs := addressErrors("url", cfg.URL)
			if len(cfg.Secrets) == 0 {
				errs = append(errs, FieldError{"secrets", "at least one signing secret is required"})
			}
			return append(errs, checkHeaders(cfg.Headers)...)
		},
		New: func(_ context.Context, b *Binding, cfg *WebhookSettings) (synclayer.Connector, error) {
			u, h, secret, err := resolveEndpoint(b, cfg.URL, cfg.Headers)
			if err != nil {
				return nil, err
			}
			keys := make([]string, len(cfg.Secrets))
			for i, sec := range cfg.Secrets {
				if keys[i], err = b.Secret(sec); err != nil {
					return nil, err
				}
			}
			return webhook.New(webhook.Config{URL: u, Secrets: keys, Name: b.Name, Header: h, SecretHeaders: secret,
				Concurrency: b.Concurrency, MaxPayloadBytes: cfg.MaxPayloadBytes})
		},
		Payload: func(r RecordValue) (any, error) { return r.JSON(), nil },
	}.kind()
}
