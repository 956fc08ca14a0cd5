package httpx

import (
	"context"
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"reflect"
)

// Redactable is a cause that carries partner text, such as a SOAP fault
// or an ArcGIS error object. Redacted returns a copy of it with scrub
// applied to each of its texts; a [partner.Error] keeps that copy, so what a
// caller reaches with errors.As is scrubbed too.
type Redactable interface {
	error
	Redacted(scrub func(string) string) error
}

// redactedError stands in for a cause that may carry request text (a
// caller's transport error quoting a header, a *url.Error quoting the
// URL). Its text is scrubbed; errors.Is still sees the original chain
// (context.DeadlineExceeded, io.ErrUnexpectedEOF, a caller's sentinel),
// and it reports Timeout as the original does, but neither Unwrap nor
// errors.As reaches the original.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether the original chain matches target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// Timeout reports whether the original was a timeout, so that the error
// still satisfies net.Error as the original did.
func (e *redactedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.orig, &t) && t.Timeout()
}

// Temporary completes net.Error; it reports what Timeout does.
func (e *redactedError) Temporary() bool { return e.Timeout() }

var _ net.Error = (*redactedError)(nil)

// safePackages are the packages whose error types carry no request text:
// addresses and system call results only.
var safePackages = map[string]bool{
	"net": true, "os": true, "syscall": true, "internal/poll": true,
	"context": true, "crypto/tls": true, "crypto/x509": true, "io/fs": true,
}

// safeSentinels are fixed errors with fixed texts.
var safeSentinels = []error{
	io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe, context.Canceled, context.DeadlineExceeded,
	net.ErrClosed, os.ErrDeadlineExceeded, http.ErrHandlerTimeout, http.ErrBodyReadAfterClose,
	http.ErrServerClosed, http.ErrSkipAltProtocol, http.ErrUseLastResponse,
}

// safeChain reports whether every error reachable from err is a fixed
// sentinel or of a standard network, OS or context type.
func safeChain(err error) bool {
	for e := range Chain(err) {
		if !safeError(e) {
			return false
		}
	}
	return true
}

// safeError reports whether err is a fixed sentinel or of a standard
// network, OS or context type.
func safeError(err error) bool {
	for _, s := range safeSentinels {
		if err == s {
			return true
		}
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return safePackages[t.PkgPath()]
}

// Chain yields err and every error reachable from it by Unwrap, either
// form, depth first: all that errors.Is and errors.As can reach, so all
// that redaction has to cover. A nil err yields nothing.
func Chain(err error) iter.Seq[error] {
	return func(yield func(error) bool) { walkChain(err, yield) }
}

// walkChain yields err and what it wraps, and reports whether yield asked
// for more.
func walkChain(err error, yield func(error) bool) bool {
	if err == nil {
		return true
	}
	if !yield(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walkChain(u.Unwrap(), yield)
	case interface{ Unwrap() []error }:
		for _, c := range u.Unwrap() {
			if !walkChain(c, yield) {
				return false
			}
		}
	}
	return true
}

// cause returns what a [partner.Error] may keep of err: a [Redactable]'s
// scrubbed copy; err itself when it is a standard network, OS or context
// error whose text holds nothing to scrub; else a stand-in with the
// scrubbed text.
func (r redactor) cause(err error) error {
	if err == nil {
		return nil
	}
	if rd, ok := err.(Redactable); ok {
		return rd.Redacted(r.text)
	}
	msg := r.text(err.Error())
	if msg == err.Error() && safeChain(err) {
		return err
	}
	return &redactedError{msg: msg, orig: err}
}

// RedactError returns err as a [partner.Error] would keep it: scrubbed of the
// secrets of req and of the classifier (see the package doc), with
// nothing unscrubbed reachable through Unwrap or errors.As. errors.Is
// still matches what err matched. req may be nil.
func (c *Classifier) RedactError(req *http.Request, err error) error {
	return c.newRedactor(req).cause(err)
}
