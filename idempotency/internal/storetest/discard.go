package storetest

import (
	"context"

	"github.com/hmsplatform/synclayer"
)

// Discard is a Publisher that drops the dispatcher's announcements, so
// that each event also claims and completes its announcement in the store.
type Discard struct{}

// Publish drops ev.
func (Discard) Publish(context.Context, synclayer.Event) error { return nil }
