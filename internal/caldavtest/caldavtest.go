// Package caldavtest starts real CalDAV servers for tests: Radicale
// (Debian package python3-radicale) and Xandikos (Debian package
// xandikos), each on a free 127.0.0.1 port with a temporary storage
// folder, stopped when the test ends.
//
// When a server's program is missing, the test is skipped, or failed when
// SYNCLAYER_REQUIRE_SERVICES=1 (see [testenv.Unavailable]).
package caldavtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testproc"
)

// Server is a running CalDAV server.
type Server struct {
	// Name is "Radicale" or "Xandikos".
	Name string
	// URL is the server's root, "http://127.0.0.1:PORT".
	URL string
	// Dir is the storage folder.
	Dir string
	// User and Password are the credentials the server demands, if any.
	User, Password string
	// home is the path of the collection that holds the calendars made by
	// NewCalendar: "/<user>/" on Radicale, "/user/calendars/" on Xandikos.
	home string
	out  *testproc.Buffer
}

// RadicaleOptions configures [StartRadicale].
type RadicaleOptions struct {
	// User and Password, if set, turn on htpasswd authentication (plain
	// passwords) with this one user.
	User, Password string
}

// startTimeout bounds how long a server may take to answer.
const startTimeout = 30 * time.Second

// python is the interpreter of Debian's python3-radicale.
func python() (string, error) {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			cmd := exec.Command(path, "-c", "import radicale")
			if cmd.Run() == nil {
				return path, nil
			}
		}
	}
	return "", errors.New("no python3 with the radicale module (apt-get install python3-radicale)")
}

// StartRadicale starts Radicale and returns it once it answers.
func StartRadicale(t testing.TB, opts RadicaleOptions) *Server {
	t.Helper()
	py, err := python()
	if err != nil {
		testenv.Unavailable(t, "Radicale", err)
		return nil
	}
	dir := t.TempDir()
	s := &Server{Name: "Radicale", Dir: dir, User: opts.User, Password: opts.Password}
	auth := []string{"--auth-type", "none"}
	user := "test"
	if opts.User != "" {
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(opts.User+":"+opts.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = []string{"--auth-type", "htpasswd", "--auth-htpasswd-filename", file, "--auth-htpasswd-encryption", "plain"}
		user = opts.User
	}
	s.home = "/" + user + "/"
	s.start(t, func(port int) *exec.Cmd {
		args := append([]string{"-m", "radicale", "--config", "", "--server-hosts", "127.0.0.1:" + strconv.Itoa(port),
			"--storage-filesystem-folder", filepath.Join(dir, "storage")}, auth...)
		return exec.Command(py, args...)
	})
	// With authentication, Radicale makes the user's home on first use.
	if err := s.do(t, "MKCOL", s.home); err != nil && !errors.Is(err, errMethodNotAllowed) {
		t.Fatalf("caldavtest: Radicale: create %s: %v", s.home, err)
	}
	return s
}

// StartXandikos starts Xandikos (which has no authentication of its own)
// and returns it once it answers.
func StartXandikos(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("xandikos")
	if err != nil {
		testenv.Unavailable(t, "Xandikos", fmt.Errorf("%w (apt-get install xandikos)", err))
		return nil
	}
	dir := t.TempDir()
	s := &Server{Name: "Xandikos", Dir: dir, home: "/user/calendars/"}
	s.start(t, func(port int) *exec.Cmd {
		return exec.Command(bin, "-d", filepath.Join(dir, "storage"), "--defaults", "-l", "127.0.0.1", "-p", strconv.Itoa(port))
	})
	return s
}

// start runs the command on a free port until the server answers; a
// port taken meanwhile gives another try.
func (s *Server) start(t testing.TB, command func(port int) *exec.Cmd) {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("caldavtest: %v", err)
		}
		cmd := command(port)
		s.out = &testproc.Buffer{Limit: 1 << 20}
		cmd.Stdout, cmd.Stderr = s.out, s.out
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		if err := cmd.Start(); err != nil {
			testenv.Unavailable(t, s.Name, err)
			return
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.waitUp(exited); lastErr == nil {
			t.Cleanup(stop)
			return
		}
		stop()
	}
	t.Fatalf("caldavtest: %s did not start: %v\noutput:\n%s", s.Name, lastErr, s.out.String())
}

// waitUp polls the server until it answers HTTP, its process exits, or
// startTimeout passes.
func (s *Server) waitUp(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	wait := 20 * time.Millisecond
	for {
		resp, err := client.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited: %w", err)
		case <-time.After(wait):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v: %w", startTimeout, err)
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client returns an HTTP client that sends the server's credentials, if
// any.
func (s *Server) Client() *http.Client {
	if s.User == "" {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: BasicAuth(http.DefaultTransport, s.User, s.Password)}
}

// BasicAuth wraps rt to send basic credentials, as a caller's client
// would.
func BasicAuth(rt http.RoundTripper, user, password string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.SetBasicAuth(user, password)
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// NewCalendar makes a fresh, empty calendar collection with a unique name
// and returns its URL (ending in "/").
func (s *Server) NewCalendar(t testing.TB) string {
	t.Helper()
	path := fmt.Sprintf("%scal-%08x/", s.home, rand.Uint32())
	if err := s.do(t, "MKCALENDAR", path); err != nil {
		t.Fatalf("caldavtest: %s: MKCALENDAR %s: %v", s.Name, path, err)
	}
	return s.URL + path
}

var errMethodNotAllowed = errors.New("405 Method Not Allowed")

// do sends a bodiless request and expects a 2xx answer.
func (s *Server) do(t testing.TB, method, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("%w: %s", errMethodNotAllowed, body)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	return nil
}

// Get fetches an object by URL with the server's credentials: its body,
// ETag and status.
func (s *Server) Get(t testing.TB, url string) (body, etag string, status int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("caldavtest: GET %s: %v", url, err)
	}
	resp, b := s.send(t, req)
	return string(b), resp.Header.Get("ETag"), resp.StatusCode
}

// send sends req with the server's credentials and returns the response
// with its body read, failing t ("caldavtest: METHOD url: ...") when
// either cannot be had.
func (s *Server) send(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("caldavtest: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("caldavtest: %s %s: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// Put stores body at url as a calendar client would (no precondition),
// with the server's credentials, and fails the test unless the server
// answers 2xx.
func (s *Server) Put(t testing.TB, url, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("caldavtest: PUT %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("caldavtest: PUT %s: %s: %s", url, resp.Status, b)
	}
}

// StoredFile returns the content Radicale keeps on disk for the object at
// url, and whether the file exists. It is for Radicale only.
func (s *Server) StoredFile(t testing.TB, url string) (string, bool) {
	t.Helper()
	if s.Name != "Radicale" {
		t.Fatalf("caldavtest: StoredFile reads Radicale's storage, not %s's", s.Name)
	}
	path, ok := strings.CutPrefix(url, s.URL+"/")
	if !ok {
		t.Fatalf("caldavtest: %s is not on this server", url)
	}
	parts := strings.Split(path, "/")
	file := filepath.Join(append([]string{s.Dir, "storage", "collection-root"}, parts...)...)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatalf("caldavtest: %v", err)
	}
	return string(b), true
}

// Output returns what the server printed so far, for failure messages.
func (s *Server) Output() string { return s.out.String() }
