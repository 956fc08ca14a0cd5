package httpx

import (
	"encoding/json"
	"fmt"

	"github.com/hmsplatform/synclayer/connectors/partner"
)

// JSONBody is the JSON request body of v, at most limit bytes:
// a json.RawMessage or []byte as it is, when it holds valid JSON, and
// anything else encoded with encoding/json. Its error, which the caller
// prefixes with its package name, wraps [partner.ErrPayload] and says why
// there is no body: v cannot be encoded, is not valid JSON, or is over
// limit bytes.
func JSONBody(v any, limit int) ([]byte, error) {
	var b []byte
	raw := false
	switch x := v.(type) {
	case json.RawMessage:
		b, raw = x, true
	case []byte:
		b, raw = x, true
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("%w: %w", partner.ErrPayload, err)
		}
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", partner.ErrPayload, len(b), limit)
	}
	if raw && !json.Valid(b) {
		return nil, fmt.Errorf("%w: %T is not valid JSON", partner.ErrPayload, v)
	}
	return b, nil
}
