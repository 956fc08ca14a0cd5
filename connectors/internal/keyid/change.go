package keyid

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/hmsplatform/synclayer"
)

// Change returns 32 hex digits that name one change of rec's key at the
// connector called name: a hash of the name, the key, the operation
// (upsert or delete) and the version, or the event ID for an unversioned
// record. Retries and redeliveries of one change share it; different
// changes never do.
func Change(name string, rec synclayer.Record) string {
	h := sha256.New()
	op := "upsert"
	if rec.Delete {
		op = "delete"
	}
	for _, s := range []string{name, rec.Key, op} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if rec.Version != 0 {
		h.Write([]byte("v" + strconv.FormatInt(rec.Version, 10)))
	} else {
		h.Write([]byte("e" + rec.Event.ID))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
