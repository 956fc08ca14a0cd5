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

type colour int

var colourNames = enum.Names{Type: "colour", Names: []string{1: "red", 2: "green"}}

// UnmarshalText is one line with Decode.
func (c *colour) UnmarshalText(b []byte) error { return enum.Decode(colourNames, b, c) }

func ExampleDecode() {
	var c colour
	fmt.Println(c.UnmarshalText([]byte("green")), c)
	fmt.Println(c.UnmarshalText([]byte("blue")), c)
	// Output:
	// <nil> 2
	// synclayer: unknown colour "blue" 2
}
