package redisstream

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// acker acknowledges entries in batches: it sends what has queued up while
// the previous XACK was on its way, one XACK per stream, pipelined. Under
// load this saves most round trips; when idle, an ack leaves at once.
func (s *subscription) acker() {
	defer close(s.ackerDone)
	const most = 512
	for k := range s.acks {
		batch := map[string][]string{k.stream: {k.id}}
		n := 1
	drain:
		for n < most {
			select {
			case k, ok := <-s.acks:
				if !ok {
					break drain
				}
				batch[k.stream] = append(batch[k.stream], k.id)
				n++
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for st, ids := range batch {
				p.XAck(ctx, st, s.b.cfg.Group, ids...)
			}
			return nil
		})
		cancel()
		if err != nil && s.b.cfg.Logger != nil {
			s.b.cfg.Logger.Warn("redisstream: XACK failed; the events will be redelivered", "entries", n, "err", err)
		}
	}
}
