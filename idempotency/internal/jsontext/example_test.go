package jsontext_test

import (
	"encoding/json"
	"fmt"

	"github.com/hmsplatform/synclayer/idempotency/internal/jsontext"
)

// A name with a byte that is not UTF-8 comes back from JSON changed; Kept
// gives the same change, so the two compare equal.
func ExampleKept() {
	name := "case-\xff-7"
	b, _ := json.Marshal(name)
	var back string
	_ = json.Unmarshal(b, &back)
	fmt.Println(back == name, back == jsontext.Kept(name), jsontext.Kept("case-7") == "case-7")
	// Output: false true true
}
