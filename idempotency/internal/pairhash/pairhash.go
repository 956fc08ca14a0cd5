// Package pairhash names a pair of strings of any length and bytes with a
// short fixed-size hash, as the durable stores name their rows and keys
// (connector and record key, event and connector). What it returns is
// stored: it must never change.
package pairhash

import (
	"crypto/sha256"
	"encoding/binary"
)

// Sum returns the first 16 bytes of a SHA-256 of a, length-prefixed (so no
// two pairs meet), and b.
func Sum(a, b string) [16]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(a)))
	h.Write(n[:])
	h.Write([]byte(a))
	h.Write([]byte(b))
	var sum [sha256.Size]byte
	return [16]byte(h.Sum(sum[:0]))
}
