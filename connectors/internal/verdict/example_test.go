package verdict_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/verdict"
)

// A connector's Verify reads the partner, then lets Of judge: here the
// partner holds the key, and the title differs.
func ExampleOf() {
	rec := synclayer.Record{Key: "WF-1", Version: 3}
	v, err := verdict.Of(rec, verdict.Held{Exists: true, ETag: `"7"`}, func() ([]string, error) {
		return []string{"title"}, nil
	})
	fmt.Println(v.Kind, v.Fields, v.ETag, err)
	fmt.Println("nothing to repair:", verdict.Settled(rec, v))
	// Output:
	// differs [title] "7" <nil>
	// nothing to repair: false
}
