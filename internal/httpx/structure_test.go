package httpx

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/partner"
)

// forms returns v as raw text and in the encodings partners echo it in.
func forms(v string) []string {
	return []string{v, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(v),
		strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(v), url.QueryEscape(v)}
}

// reachable returns the texts of err and of everything errors.As and
// Unwrap reach from it, with the fields of each.
func reachable(err error) string {
	var b strings.Builder
	for e := range Chain(err) {
		fmt.Fprintf(&b, "%s | %+v\n", e.Error(), e)
		if ue, ok := e.(*url.Error); ok {
			b.WriteString(ue.URL + "\n")
		}
	}
	return b.String()
}

// addHeaders is a caller's transport that adds credentials to a clone of
// each request.
type addHeaders struct {
	h    http.Header
	next http.RoundTripper
}

func (a addHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range a.h {
		r.Header[k] = v
	}
	return a.next.RoundTrip(r)
}

// TestRedactByStructure plants short secrets with XML, JSON and URL
// specials in every place a request carries them, including headers the
// caller's transport adds (the connector's request never holds them), has
// the partner echo all of it in every encoding, and checks that no form of
// any secret is in the error's text or anywhere Unwrap reaches.
func TestRedactByStructure(t *testing.T) {
	const (
		xmlPass  = "p&ss<word1" // a configured secret, echoed XML-escaped
		shortPw  = "^"          // URL userinfo password, 1 byte
		queryTok = "z|y"        // token in the query
		trBearer = `r"\`        // Proxy-Authorization added by the transport
		trCookie = "c<>"        // Cookie added by the transport
		trCustom = "x'1"        // X-Auth-Token added by the transport
	)
	secrets := []string{xmlPass, shortPw, queryTok, trBearer, trCookie, trCustom}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		var b strings.Builder
		for k, vs := range r.Header {
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
				for _, f := range forms(v) {
					fmt.Fprintf(&b, "echo %s\n", f)
				}
			}
		}
		if _, p, ok := r.BasicAuth(); ok {
			fmt.Fprintf(&b, "bad password %s\n", p)
		}
		for _, c := range r.Cookies() {
			fmt.Fprintf(&b, "cookie %s\n", c.Value)
		}
		for _, f := range forms(xmlPass) {
			fmt.Fprintf(&b, "<wsse:Password>%s</wsse:Password>\n", f)
		}
		fmt.Fprintf(&b, "url %s", r.URL)
		_, _ = io.WriteString(w, b.String())
	}))
	defer srv.Close()
	client := &http.Client{Transport: addHeaders{next: srv.Client().Transport, h: http.Header{
		"Proxy-Authorization": {"Bearer " + trBearer},
		"Cookie":              {"sid=" + trCookie},
		"X-Auth-Token":        {trCustom},
	}}}
	u, _ := url.Parse(srv.URL + "/records/a?access_token=" + url.QueryEscape(queryTok) + "&page=2")
	u.User = url.UserPassword("svc", shortPw)
	req, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("{}"))
	c := &Classifier{Prefix: "test", Secrets: []string{xmlPass}}
	resp, err := client.Do(req)
	got := c.Check(req, resp, err)
	if !errors.Is(got, partner.ErrRejected) {
		t.Fatalf("Check = %v, want partner.ErrRejected", got)
	}
	text := reachable(got)
	if !strings.Contains(text, "User-Agent") || !strings.Contains(text, "bad password") {
		t.Fatalf("the echo is not in the error; the test proves nothing:\n%s", text)
	}
	for _, s := range secrets {
		for _, f := range append(forms(s), base64.StdEncoding.EncodeToString([]byte("svc:"+s))) {
			if strings.Contains(text, f) {
				t.Errorf("secret %q shows as %q in:\n%s", s, f, text)
			}
		}
	}
	var e *partner.Error
	if !errors.As(got, &e) || e.URL != srv.URL+"/records/a?…" {
		t.Errorf("URL %q, want scheme, host and path only", e.URL)
	}
}

// errLeaky is a caller's transport error that quotes what it should not.
var errLeaky = errors.New("token expired")

type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("auth %s for %s refused: %w", r.Header.Get("X-Auth-Token"), r.URL, errLeaky)
}

// TestCauseRedacted checks that the cause an Error keeps, which a caller
// reaches with errors.As and Unwrap, is scrubbed like the text, and that
// errors.Is and net.Error still see through it.
func TestCauseRedacted(t *testing.T) {
	const tok, pw = "t0", "k"
	req, _ := http.NewRequest(http.MethodPost, "http://u:"+pw+"@partner.test/x?token="+tok, nil)
	req.Header.Set("X-Auth-Token", tok)
	c := &Classifier{Prefix: "test"}
	resp, err := (&http.Client{Transport: leakyTransport{}}).Do(req)
	got := c.Check(req, resp, err)
	text := reachable(got)
	for _, s := range []string{"token=" + tok, "auth " + tok, ":" + pw + "@"} {
		if strings.Contains(text, s) {
			t.Errorf("%q reachable from the error:\n%s", s, text)
		}
	}
	if !errors.Is(got, errLeaky) || !errors.Is(got, partner.ErrNetwork) {
		t.Errorf("errors.Is lost the cause's sentinel: %v", got)
	}
	var ue *url.Error
	if errors.As(got, &ue) {
		t.Errorf("errors.As reaches the *url.Error with %q", ue.URL)
	}

	// A timeout stays a net.Error timeout and context.DeadlineExceeded.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/?token="+tok, nil)
	resp, err = http.DefaultClient.Do(req)
	got = c.Check(req, resp, err)
	var ne net.Error
	if !errors.Is(got, context.DeadlineExceeded) || !errors.As(got, &ne) || !ne.Timeout() {
		t.Errorf("timeout lost: %v", got)
	}
	if strings.Contains(reachable(got), tok) {
		t.Errorf("token reachable: %s", reachable(got))
	}
}

// TestWithheld checks that a text where a replacement forms the secret
// again with its neighbours is withheld, not shown.
func TestWithheld(t *testing.T) {
	r := (&Classifier{Secrets: []string{"TED1"}}).newRedactor()
	if got := r.text("xTED11"); got != Withheld {
		t.Errorf("text = %q, want it withheld", got)
	}
	if got := r.text("nothing here"); got != "nothing here" {
		t.Errorf("text = %q, want it unchanged", got)
	}
}

func TestRedactURLStructure(t *testing.T) {
	tests := []struct {
		in   string
		hide bool
		want string
	}{
		{"https://u:p@h.test:8443/a/b?token=x&page=2#f", false, "https://h.test:8443/a/b?…"},
		{"https://u@h.test/a", false, "https://h.test/a"},
		{"https://h.test/hooks/T0/B0/SECRET?x=1", true, "https://h.test/…"},
		{"https://h.test", true, "https://h.test"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.in)
		if got := RedactURL(u, tt.hide); got != tt.want {
			t.Errorf("RedactURL(%q, %v) = %q, want %q", tt.in, tt.hide, got, tt.want)
		}
	}
}

func TestURLProblem(t *testing.T) {
	for _, raw := range []string{"http://u:s3@h/%zz?token=s3", "http://u:s3@h:port/?token=s3", "http://u:s3@h\x7f/"} {
		_, err := url.Parse(raw)
		if err == nil {
			t.Fatalf("%q parses", raw)
		}
		if p := URLProblem(err); strings.Contains(p, "s3") || p == "" {
			t.Errorf("URLProblem(%v) = %q", err, p)
		}
	}
}

// TestChain: Chain yields an error and all it wraps, both Unwrap forms,
// depth first, and stops when the loop does.
func TestChain(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	err := fmt.Errorf("top: %w", errors.Join(fmt.Errorf("left: %w", a), b, c))
	var got []string
	for e := range Chain(err) {
		got = append(got, e.Error())
	}
	want := []string{"top: left: a\nb\nc", "left: a\nb\nc", "left: a", "a", "b", "c"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Chain = %q, want %q", got, want)
	}
	n := 0
	for range Chain(err) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("the loop ran %d times after breaking at 3", n)
	}
	for e := range Chain(nil) {
		t.Errorf("Chain(nil) yielded %v", e)
	}
}
