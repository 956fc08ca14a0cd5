package httpx

import (
	"net/http"
	"strings"
	"testing"
)

func TestCheckHeader(t *testing.T) {
	reserved := func(name string) bool { return name == "Content-Type" }
	for _, tc := range []struct {
		h    http.Header
		want string // "" means valid
	}{
		{http.Header{"X-Trace": {"a"}, "x-lower": {"b"}}, ""},
		{http.Header{"X A": {"a"}}, `header name "X A" is not a valid token`},
		{http.Header{"": {"a"}}, `header name "" is not a valid token`},
		{http.Header{"X:Y": {"a"}}, "not a valid token"},
		{http.Header{"content-type": {"x"}}, "header content-type is set by the connector"},
		{http.Header{"X-A": {"a\r\nX-B: b"}}, "header X-A: value holds CR, LF or NUL"},
		{http.Header{"X-A": {"a\x00"}}, "CR, LF or NUL"},
	} {
		err := CheckHeader(tc.h, reserved)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckHeader(%q) = %v, want %q", tc.h, err, tc.want)
		}
	}
	if err := CheckHeader(http.Header{"Content-Type": {"x"}}, nil); err != nil {
		t.Errorf("nothing reserved: %v", err)
	}
}

func TestMergeHeader(t *testing.T) {
	defaults := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	got := MergeHeader(defaults, http.Header{"accept": {"text/plain"}, "x-trace": {"1"}})
	if len(got) != 3 || got.Get("Accept") != "text/plain" || got.Get("X-Trace") != "1" || got.Get("Content-Type") != "application/json" {
		t.Errorf("MergeHeader = %v", got)
	}
	if defaults.Get("Accept") != "application/json" {
		t.Error("MergeHeader changed its defaults")
	}
}

func TestCheckEndpoint(t *testing.T) {
	for raw, want := range map[string]string{
		"https://h.test/x?token=s3cret": "",
		"http://h.test":                 "",
		"":                              "URL is required",
		"/relative/s3cret":              "URL must be an absolute http or https URL",
		"ftp://h.test/s3cret":           "URL must be an absolute http or https URL",
		"https://h.test/%zz/s3cret":     "URL must be an absolute http or https URL",
	} {
		err := CheckEndpoint("URL", raw)
		if want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("CheckEndpoint(%q) = %v, want %q", raw, err, want)
		}
	}
}
