package keyid_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/keyid"
)

func Example() {
	up := synclayer.Record{Key: "WF-1", Version: 3}
	again := keyid.Change("records", up)
	del := keyid.Change("records", synclayer.Record{Key: "WF-1", Version: 3, Delete: true})
	fmt.Println(len(again), keyid.Change("records", up) == again, del == again)
	fmt.Println(len(keyid.Object("synclayer", "WF-1")), keyid.Object("a", "bc") == keyid.Object("ab", "c"))
	// Output:
	// 32 true false
	// 52 false
}
