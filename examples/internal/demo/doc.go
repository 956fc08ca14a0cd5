// Package demo holds what examples/workflowsync and examples/configsync
// share, so that the two commands differ only in how they build their
// Dispatcher (in Go, or from sync.yaml with package config): the fake
// partners on free ports of 127.0.0.1, the platform's SQLite database with
// its transactional outbox, the observer that collects results, and the
// narrated account itself ([Account]), which both commands print line for
// line.
package demo
