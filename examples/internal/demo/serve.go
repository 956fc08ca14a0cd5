package demo

import (
	"fmt"
	"net"
	"net/http"
)

// Serve runs h on a free port of 127.0.0.1 and returns its base URL and a
// function that stops it.
func Serve(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo: listen: %w", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
