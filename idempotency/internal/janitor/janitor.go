// Package janitor is the periodic loop of the durable stores' RunJanitor
// methods: one round of clean-up every interval until the context ends.
package janitor

import (
	"context"
	"time"
)

// Run runs round every interval (a minute if every is not positive) until
// ctx ends, then returns ctx's error. A round's error goes to onErr, when
// set, unless ctx has ended meanwhile; it does not stop the loop. No round
// starts once ctx has ended, even when a tick is waiting too.
func Run(ctx context.Context, every time.Duration, onErr func(error), round func(context.Context) error) error {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			// select picks at random among ready cases: a tick that
			// came while the last round ran may win over ctx's end.
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := round(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
