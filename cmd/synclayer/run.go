package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hmsplatform/synclayer/config"
)

// runCommand builds the configuration and runs it until ctx ends (SIGTERM
// or SIGINT), then drains and exits 0.
func runCommand(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "the configuration file (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "synclayer run: -config FILE is required, and nothing else")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := config.Load(*file)
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		return 1
	}
	m := newMetrics()
	svc, err := config.Build(ctx, cfg, config.WithLogger(log), config.WithObserver(m))
	if err != nil {
		log.Error("cannot build the configuration", "error", err.Error())
		return 1
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Close(closeCtx); err != nil {
			log.Warn("close", "error", err.Error())
		}
	}()

	var srv *http.Server
	if cfg.HTTP.Addr != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Addr)
		if err != nil {
			log.Error("cannot listen", "addr", cfg.HTTP.Addr, "error", err.Error())
			return 1
		}
		srv = &http.Server{Handler: routes(svc, m), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		log.Info("serving", "addr", ln.Addr().String())
	}
	log.Info("running", "config", *file, "partners", len(cfg.Partners), "eventTypes", svc.EventTypes())
	runErr := svc.Run(ctx)
	if srv != nil {
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(shutCtx)
		cancel()
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		log.Error("run ended", "error", runErr.Error())
		return 1
	}
	log.Info("drained, exiting")
	return 0
}

// routes serves health, readiness, metrics and the monitor.
func routes(svc *config.Service, m *metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Ready(ctx); err != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", m)
	if svc.Monitor != nil {
		mux.Handle("/", svc.Monitor)
	}
	return mux
}
