package caldav

import "sync"

// memo keeps up to max values by key for the whole process, and starts
// afresh when full: what it keeps (time zones by name, zones built from a
// VTIMEZONE) comes from a few clients and rarely changes, and a partner
// that sends ever new names costs no more memory than max values.
type memo[V any] struct {
	mu  sync.Mutex
	max int
	m   map[string]V
}

// get returns the value of key, and false when there is none.
func (c *memo[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

// put keeps v as the value of key.
func (c *memo[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]V)
	}
	c.m[key] = v
}
