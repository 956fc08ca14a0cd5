package enum_test

import (
	"fmt"

	"github.com/hmsplatform/synclayer/internal/enum"
)

func Example() {
	colours := enum.Names{Type: "Colour", Names: []string{1: "red", 2: "green"}}
	fmt.Println(colours.String(2), colours.String(7))
	_, err := colours.MarshalText(0)
	fmt.Println(err)
	v, _ := colours.UnmarshalText([]byte("red"))
	fmt.Println(v)
	// Output:
	// green Colour(7)
	// synclayer: unknown Colour 0
	// 1
}
