package wallclock_test

import (
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/connectors/internal/wallclock"
)

// 02:30 on the night Berlin's clocks go back occurs twice; it is read as
// the first, still in summer time.
func ExampleIn() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	at := wallclock.In(time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC), berlin)
	fmt.Println(at.Format(time.RFC3339))
	// Output: 2026-10-25T02:30:00+02:00
}
