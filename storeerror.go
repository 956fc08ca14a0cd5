package synclayer

import (
	"errors"
	"strings"
)

// A store's own error can name a database host, a user or a query. A
// route's Result keeps it, for the caller and its logs; what others read
// (the delivery log and the watchers, which the monitor shows, and the
// announcements on the platform's bus) has a fixed text in its place: see
// publicText.

// storeErr is the store's error err at what, in a route's error. It wraps
// [ErrStore] and err, and its text has both.
type storeErr struct {
	what string
	err  error
}

func (e *storeErr) Error() string   { return storeFailed(e.what) + ": " + e.err.Error() }
func (e *storeErr) Unwrap() []error { return []error{ErrStore, e.err} }

// joinStoreErr joins err and serr, the store's error at what, as the
// route's error.
func joinStoreErr(err error, what string, serr error) error {
	return errors.Join(err, &storeErr{what, serr})
}

// storeFailed is the text of a store failure at what as others read it:
// [ErrStore]'s text and what, without the store's own error.
func storeFailed(what string) string {
	return ErrStore.Error() + ": " + what
}

// publicText is err's text with the store's own error left out of each
// store failure that joinStoreErr put in it (see storeFailed). A wrapper's
// text holds its parts' texts whole, so each is replaced where it stands.
func publicText(err error) string {
	text := err.Error()
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case *storeErr:
			text = strings.Replace(text, x.Error(), storeFailed(x.what), 1)
		case interface{ Unwrap() []error }:
			for _, p := range x.Unwrap() {
				walk(p)
			}
		case interface{ Unwrap() error }:
			if p := x.Unwrap(); p != nil {
				walk(p)
			}
		}
	}
	walk(err)
	return text
}
