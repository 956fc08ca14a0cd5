package config_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/config"
	"github.com/hmsplatform/synclayer/internal/option"
)

type ledgerSettings struct {
	Account string        `yaml:"account,required"`
	Key     config.Secret `yaml:"key,required"`
}

// A program's own kind plugs in with WithKind: its settings are decoded
// strictly, its record fields type-checked, and its connector built.
func TestCustomKind(t *testing.T) {
	var mu sync.Mutex
	var got []any
	ledger := &config.Kind{
		Name:     "ledger",
		Settings: func() any { return new(ledgerSettings) },
		Fields:   []config.Field{{Name: "amount", Type: config.Double, Required: true}, {Name: "memo", Type: config.String}},
		New: func(_ context.Context, b *config.Binding, s any) (synclayer.Connector, error) {
			key, err := b.Secret(s.(*ledgerSettings).Key)
			if err != nil {
				return nil, err
			}
			account := s.(*ledgerSettings).Account
			return synclayer.ConnectorFunc(func(_ context.Context, rec synclayer.Record) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, account, key != "", rec.Key, rec.Payload)
				return nil
			}), nil
		},
		Payload: func(r config.RecordValue) (any, error) {
			amount, _ := r.Get("amount")
			return amount, nil
		},
	}
	src := `
partners:
  - name: books
    kind: ledger
    settings: {account: ops, key: "${env:LEDGER_KEY}"}
    routes:
      Paid: {key: data.id, record: {amount: data.cents / 100, memo: '"paid"'}}
`
	if _, err := config.Parse("ledger.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `unknown connector kind "ledger"`) {
		t.Fatalf("without WithKind: %v", err)
	}
	cfg, err := config.Parse("ledger.yaml", []byte(src), config.WithKind(ledger))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := config.Build(context.Background(), cfg, config.WithLogger(slog.New(slog.DiscardHandler)),
		config.WithLookupEnv(func(string) (string, bool) { return "k", true }))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	if _, err := svc.Dispatcher.Dispatch(context.Background(), synclayer.Event{ID: "e", Type: "Paid", Data: []byte(`{"id":"p-1","cents":250}`)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 || got[0] != "ops" || got[1] != true || got[2] != "p-1" || got[3] != float64(2) {
		t.Errorf("connector got %v", got)
	}

	bad := strings.Replace(src, "memo: '\"paid\"'", "memo: 7", 1)
	if _, err := config.Parse("ledger.yaml", []byte(bad), config.WithKind(ledger)); err == nil || !strings.Contains(err.Error(), `record field "memo" takes string`) {
		t.Errorf("a mistyped field of a custom kind: %v", err)
	}
	if _, err := config.Parse("ledger.yaml", []byte(src), config.WithKind(&config.Kind{Name: "half"})); !errors.Is(err, option.ErrInvalid) {
		t.Errorf("an incomplete kind: %v", err)
	}
}
