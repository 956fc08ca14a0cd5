package pairhash_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/idempotency/internal/pairhash"
)

// The sums name stored rows and keys, so this output must never change;
// the length prefix keeps ("ab", "c") apart from ("a", "bc").
func ExampleSum() {
	fmt.Printf("%x\n", pairhash.Sum("records", "case-7"))
	fmt.Println(pairhash.Sum("ab", "c") == pairhash.Sum("a", "bc"))
	// Output:
	// bf297c837a3f33d050989c94e52074d1
	// false
}
