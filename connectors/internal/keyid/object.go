package keyid

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
)

// lowerBase32Hex is base32hex in lowercase: 0-9 and a-v, the only letters
// Google accepts in an event id, and safe in URLs and file names on
// case-insensitive file systems alike.
var lowerBase32Hex = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// Object returns the lowercase base32hex encoding, without padding, of
// SHA-256 over the length-prefixed namespace and the key: 52 characters of
// 0-9 and a-v. The namespace is length-prefixed, so no (namespace, key)
// pair is a re-split of another.
func Object(namespace, key string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(namespace)))])
	h.Write([]byte(namespace))
	h.Write([]byte(key))
	return lowerBase32Hex.EncodeToString(h.Sum(nil))
}
