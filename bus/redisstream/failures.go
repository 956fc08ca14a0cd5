package redisstream

import (
	"context"
	"fmt"
	"time"
)

// retrying runs fn until it succeeds, ctx ends (nil), or it failed for
// about a minute in a row.
type failures struct {
	n     int
	first time.Time
}

func (f *failures) check(ctx context.Context, what string, err error) error {
	if err == nil {
		f.n = 0
		return nil
	}
	if f.n == 0 {
		f.first = time.Now()
	}
	f.n++
	if time.Since(f.first) > time.Minute {
		return fmt.Errorf("redisstream: subscribe: %s failing since %v: %w", what, f.first.Format(time.RFC3339), err)
	}
	wait := min(50*time.Millisecond<<min(f.n-1, 5), 2*time.Second)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return nil
}
