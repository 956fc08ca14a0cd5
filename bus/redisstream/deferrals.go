package redisstream

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// deferral is what the deferrals hash holds for an entry: how many of its
// deliveries were deferred with synclayer.Redeliver, and the delay the
// last one asked for (negative once a plain failure followed: the retry
// delay of the delivery count applies).
type deferral struct {
	delay time.Duration
	count int
}

// String encodes d as "<delay ms>:<count>".
func (d deferral) String() string {
	ms := int64(-1)
	if d.delay >= 0 {
		ms = d.delay.Milliseconds()
	}
	return strconv.FormatInt(ms, 10) + ":" + strconv.Itoa(d.count)
}

// parseDeferral decodes a hash value; anything unreadable is no deferral.
func parseDeferral(v any) deferral {
	str, ok := v.(string)
	if !ok {
		return deferral{delay: -1}
	}
	msText, countText, ok := strings.Cut(str, ":")
	ms, err1 := strconv.ParseInt(msText, 10, 64)
	n, err2 := strconv.Atoi(countText)
	if !ok || err1 != nil || err2 != nil || n < 0 {
		return deferral{delay: -1}
	}
	d := deferral{delay: -1, count: n}
	if ms >= 0 {
		d.delay = time.Duration(ms) * time.Millisecond
	}
	return d
}

// deferralField names an entry in the deferrals hash.
func deferralField(k entryKey) string { return k.id + " " + k.stream }

// deferrals reads the deferrals of the pending entries pend of stream, in
// their order.
func (s *subscription) deferrals(ctx context.Context, stream string, pend []redis.XPendingExt) ([]deferral, error) {
	fields := make([]string, len(pend))
	for i, p := range pend {
		fields[i] = deferralField(entryKey{stream, p.ID})
	}
	vals, err := s.b.rdb.HMGet(ctx, s.b.DeferralsKey(), fields...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]deferral, len(pend))
	for i := range out {
		out[i] = deferral{delay: -1}
		if i < len(vals) {
			out[i] = parseDeferral(vals[i])
		}
	}
	return out, nil
}
