package soap_test

import (
	"encoding/json"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/soap"
)

func TestVersionText(t *testing.T) {
	for _, tc := range []struct {
		v    soap.Version
		text string
	}{
		{soap.SOAP11, "SOAP 1.1"},
		{soap.SOAP12, "SOAP 1.2"},
		{0, ""},
	} {
		b, err := tc.v.MarshalText()
		if err != nil || string(b) != tc.text {
			t.Errorf("%d.MarshalText() = %q, %v; want %q", int(tc.v), b, err, tc.text)
		}
		var back soap.Version
		if err := back.UnmarshalText(b); err != nil || back != tc.v {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, tc.v)
		}
	}
	if got := soap.Version(13).String(); got != "Version(13)" {
		t.Errorf("String of an unknown version = %q", got)
	}
	if _, err := soap.Version(13).MarshalText(); err == nil {
		t.Error("MarshalText of an unknown version: no error")
	}
	var v soap.Version
	if err := v.UnmarshalText([]byte("SOAP 2.0")); err == nil || err.Error() != `soap: unknown version "SOAP 2.0"` {
		t.Errorf("UnmarshalText of an unknown name: %v", err)
	}
	// In JSON a Config's version reads as its name.
	var cfg struct{ Version soap.Version }
	if err := json.Unmarshal([]byte(`{"Version":"SOAP 1.2"}`), &cfg); err != nil || cfg.Version != soap.SOAP12 {
		t.Errorf("json: %v, %v", cfg.Version, err)
	}
}
