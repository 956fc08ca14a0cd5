package config

import (
	"context"

	"github.com/hmsplatform/synclayer"
)

// Preview is what one partner would receive for one event, as `synclayer
// check` prints it: nothing is sent.
type Preview struct {
	Partner string `json:"partner"`
	Kind    string `json:"kind"`
	Key     string `json:"key,omitempty"`
	Version int64  `json:"version,omitempty"`
	Delete  bool   `json:"delete,omitempty"`
	Record  any    `json:"record,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Preview maps ev for every partner that routes its type, in the order of
// the file, without building or calling any connector. A mapping failure
// is reported in that partner's Error.
func (c *Config) Preview(ctx context.Context, ev synclayer.Event) []Preview {
	var out []Preview
	for _, p := range c.Partners {
		for _, r := range p.Routes {
			if r.EventType != ev.Type || r.mapping == nil {
				continue
			}
			pv := Preview{Partner: p.Name, Kind: p.Kind}
			rec, rv, err := r.mapping.evaluate(ev)
			if err != nil {
				pv.Error = err.Error()
			} else {
				pv.Key, pv.Version, pv.Delete, pv.Record = rec.Key, rec.Version, rec.Delete, rv.JSON()
			}
			out = append(out, pv)
		}
	}
	return out
}
