package drift_test

import (
	"encoding/json"
	"fmt"

	"github.com/hmsplatform/synclayer/drift"
)

// A DriftDetected announcement carries a Report as its data.
func ExampleReport() {
	b, err := json.Marshal(drift.Report{Connector: "gis", Key: "WF-1", Drift: drift.Differs, Fields: []string{"name"}, Version: 3})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: {"connector":"gis","key":"WF-1","drift":"differs","fields":["name"],"version":3}
}
