// Package benchrun spreads the numbered operations of a benchmark over a
// number of goroutines, the load pattern of many handlers sharing one store,
// client or partner. It is for benchmarks only.
package benchrun

import (
	"sync"
	"sync/atomic"
	"time"
)

// Spread calls op(i) for every i in [from, to), from conc goroutines that
// each take the next number until none is left, and returns the time it
// took. A goroutine stops at the first error its op returns; Spread then
// returns the first error any op returned.
func Spread(conc int, from, to int64, op func(i int64) error) (time.Duration, error) {
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	next.Store(from)
	start := time.Now()
	for range max(conc, 1) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= to {
					return
				}
				if err := op(i); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		return took, *err
	}
	return took, nil
}
