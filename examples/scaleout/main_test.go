package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// Two instances share 1,000 events: none is lost, both take part, and the
// partner ends with exactly one record per event, each written once.
func TestScaleOut(t *testing.T) {
	natsURL := testenv.NATS.Need(t)
	pgDSN := testenv.Postgres.Need(t)
	var out bytes.Buffer
	res, err := run(synclayertest.Within(t, 90*time.Second), natsURL, pgDSN, &out)
	if errors.Is(err, ErrServiceUnavailable) {
		testenv.Unavailable(t, "NATS and PostgreSQL", err)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if res.Records != Events || res.Writes != Events {
		t.Errorf("partner holds %d records after %d writes, want %d and %d", res.Records, res.Writes, Events, Events)
	}
	if res.Handled[0] == 0 || res.Handled[1] == 0 {
		t.Errorf("instances handled %v: both should take part", res.Handled)
	}
	if res.Handled[0]+res.Handled[1] != Events {
		t.Errorf("instances handled %d events in all, want %d", res.Handled[0]+res.Handled[1], Events)
	}
	if !strings.Contains(out.String(), "records at the partner: 1000 (1000 writes)") {
		t.Errorf("output:\n%s", out.String())
	}
}
