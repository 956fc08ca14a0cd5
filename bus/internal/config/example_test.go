package config_test

import (
	"fmt"
	"time"

	"github.com/hmsplatform/synclayer/bus/internal/config"
)

// A bus applies its options to Settings, fills what is left with the
// defaults, and backs off its redeliveries from RedeliveryDelay.
func ExampleSettings_Resolve() {
	var s config.Settings
	for _, o := range []config.Option{config.Group("billing"), config.RedeliveryDelay(500 * time.Millisecond)} {
		if err := o(&s); err != nil {
			fmt.Println(err)
		}
	}
	s.Resolve(config.Defaults)
	fmt.Println(s.Group, s.MaxDeliveries, s.Concurrency)
	fmt.Println(s.RetryDelay(1), s.RetryDelay(3), s.RetryDelay(20))
	// Output:
	// billing 5 64
	// 500ms 2s 32s
}
