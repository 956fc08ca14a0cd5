package redisstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// The scripts' replies are checked for their whole shape before any part
// is used: a reply of another shape (a script of another version under
// the same name, a proxy in the way) is ErrNoAnswer, never a guess and
// never a panic.

// claimResult reads a claim's reply: {1, v} done, {2, v} stale, {3, v,
// ms left} busy, {4, v} acquired, with v the last version as a decimal
// string.
func (o *op) claimResult() (idempotency.ClaimResult, error) {
	reply, ok := o.reply.([]any)
	if !ok || len(reply) < 2 {
		return idempotency.ClaimResult{}, unexpected(o.reply)
	}
	status, ok1 := reply[0].(int64)
	vs, ok2 := reply[1].(string)
	if !ok1 || !ok2 {
		return idempotency.ClaimResult{}, unexpected(o.reply)
	}
	version, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return idempotency.ClaimResult{}, unexpected(o.reply)
	}
	switch {
	case status == 1 && len(reply) == 2:
		return idempotency.ClaimResult{Status: idempotency.ClaimDone}, nil
	case status == 2 && len(reply) == 2:
		return idempotency.ClaimResult{Status: idempotency.ClaimStale, Version: version}, nil
	case status == 3 && len(reply) == 3:
		left, ok := reply[2].(int64)
		if !ok {
			break
		}
		return idempotency.ClaimResult{Status: idempotency.ClaimBusy, Version: version,
			Expires: o.sent.Add(time.Duration(max(left, 0)) * time.Millisecond)}, nil
	case status == 4 && len(reply) == 2:
		return idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: o.token, Version: version}, nil
	}
	return idempotency.ClaimResult{}, unexpected(o.reply)
}

// flag reads the reply of complete (always 1), release and renew (1 done,
// 0 not held by the token).
func (o *op) flag() (bool, error) {
	n, ok := o.reply.(int64)
	if !ok || n < 0 || n > 1 || (o.kind == opComplete && n != 1) {
		return false, unexpected(o.reply)
	}
	return n == 1, nil
}

// unexpected is ErrNoAnswer with the reply, bounded.
func unexpected(reply any) error {
	s := fmt.Sprintf("%#v", reply)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Errorf("%w: %s", ErrNoAnswer, s)
}
