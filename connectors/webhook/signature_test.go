package webhook_test

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/connectors/webhook"
	"github.com/hmsplatform/synclayer/internal/option"
)

// The Standard Webhooks test vector (PROTOCOLS.md §5, from the spec's
// libraries/python/tests/test_webhooks.py).
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vecHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vecID)
	h.Set(webhook.HeaderTimestamp, "1614265330")
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func atVector() time.Time { return time.Unix(vecTS, 0) }

func TestSignVector(t *testing.T) {
	for _, secret := range []string{vecSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		got, err := webhook.Sign([]string{secret}, vecID, time.Unix(vecTS, 0), []byte(vecBody))
		if err != nil || got != vecSig {
			t.Errorf("Sign with %q = %q, %v; want %q", secret[:8], got, err, vecSig)
		}
	}
}

func TestVerifyVector(t *testing.T) {
	v := webhook.Verifier{Secrets: []string{vecSecret}, Now: atVector}
	tests := []struct {
		name   string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"valid", vecHeader(vecSig), vecBody, atVector(), nil},
		{"one of several signatures", vecHeader("v1,bm90IGl0 " + vecSig + " v1a,ZWQyNTUxOQ=="), vecBody, atVector(), nil},
		{"tampered body", vecHeader(vecSig), `{"test": 2432232315}`, atVector(), webhook.ErrSignature},
		{"wrong signature", vecHeader("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), vecBody, atVector(), webhook.ErrSignature},
		{"no version prefix", vecHeader("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), vecBody, atVector(), webhook.ErrSignature},
		{"too old", vecHeader(vecSig), vecBody, atVector().Add(6 * time.Minute), webhook.ErrTimestamp},
		{"too new", vecHeader(vecSig), vecBody, atVector().Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"within tolerance", vecHeader(vecSig), vecBody, atVector().Add(4 * time.Minute), nil},
		{"missing id", func() http.Header { h := vecHeader(vecSig); h.Del(webhook.HeaderID); return h }(), vecBody, atVector(), webhook.ErrMissingHeaders},
		{"bad timestamp", func() http.Header { h := vecHeader(vecSig); h.Set(webhook.HeaderTimestamp, "yesterday"); return h }(), vecBody, atVector(), webhook.ErrMissingHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Now = func() time.Time { return tt.now }
			err := v.Verify(tt.header, []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyNegativeTolerance(t *testing.T) {
	v := webhook.Verifier{Secrets: []string{vecSecret}, Tolerance: -time.Second, Now: atVector}
	err := v.Verify(vecHeader(vecSig), []byte(vecBody))
	if !errors.Is(err, option.ErrInvalid) || !strings.Contains(err.Error(), "Verifier.Tolerance(-1s)") {
		t.Errorf("Verify with a negative Tolerance = %v, want an invalid-option error naming it", err)
	}
}

func TestVerifyRotation(t *testing.T) {
	const other = "whsec_" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX" // 24 bytes
	sig, err := webhook.Sign([]string{other, vecSecret}, vecID, atVector(), []byte(vecBody))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{other, vecSecret} {
		v := webhook.Verifier{Secrets: []string{secret}, Now: atVector}
		if err := v.Verify(vecHeader(sig), []byte(vecBody)); err != nil {
			t.Errorf("receiver with one of the rotated secrets: %v", err)
		}
	}
	v := webhook.Verifier{Secrets: []string{"whsec_" + "BBECAwQFBgcICQoLDA0ODxAREhMUFRYX"}, Now: atVector}
	if err := v.Verify(vecHeader(sig), []byte(vecBody)); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("unrelated secret: %v", err)
	}
}

func TestDecodeSecret(t *testing.T) {
	for _, bad := range []string{"", "whsec_", "whsec_not base64!", "whsec_AAAA"} {
		if _, err := webhook.DecodeSecret(bad); !errors.Is(err, webhook.ErrSecret) {
			t.Errorf("DecodeSecret(%q) = %v, want ErrSecret", bad, err)
		}
	}
}

// TestTimestampExtremes checks the tolerance at the edges of int64, where
// a plain difference of timestamps overflows: far-off timestamps fail
// with ErrTimestamp, never pass.
func TestTimestampExtremes(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	tests := []struct {
		now, ts int64
		tol     time.Duration
		ok      bool
	}{
		{1614265330, 1614265330, 0, true},
		{1614265330, 1614265330 - 300, 0, true},
		{1614265330, 1614265330 + 300, 0, true},
		{1614265330, 1614265330 - 301, 0, false},
		{1614265330, 1614265330 + 301, 0, false},
		{1614265330, math.MinInt64, 0, false},
		{1614265330, math.MinInt64 + 1, 0, false},
		{1614265330, 1614265330 + math.MinInt64, 0, false}, // now - 2^63
		{1614265330, 1614265330 + math.MinInt64 + 1, 0, false},
		{1614265330, math.MaxInt64, 0, false},
		{-1614265330, math.MaxInt64, 0, false},
		{-1614265330, math.MaxInt64 - 1614265330 + 1, 0, false},
		{1614265330, math.MinInt64, time.Duration(math.MaxInt64), false},
		{1614265330, 0, time.Duration(math.MaxInt64), true}, // 1970 is within 292 years
	}
	for _, tt := range tests {
		id := "msg_p5jXN8AQM9LWM0D4loKWxJek"
		sig, err := webhook.Sign([]string{secret}, id, time.Unix(tt.ts, 0), body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(tt.ts, 10))
		h.Set(webhook.HeaderSignature, sig)
		v := webhook.Verifier{Secrets: []string{secret}, Tolerance: tt.tol, Now: func() time.Time { return time.Unix(tt.now, 0) }}
		err = v.Verify(h, body)
		switch {
		case tt.ok && err != nil:
			t.Errorf("now %d, timestamp %d, tolerance %v: %v, want it accepted", tt.now, tt.ts, tt.tol, err)
		case !tt.ok && !errors.Is(err, webhook.ErrTimestamp):
			t.Errorf("now %d, timestamp %d, tolerance %v: %v, want ErrTimestamp", tt.now, tt.ts, tt.tol, err)
		}
	}
}
