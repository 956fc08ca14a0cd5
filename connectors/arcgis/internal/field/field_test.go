package field_test

import (
	"fmt"
	"testing"

	"github.com/hmsplatform/synclayer/connectors/arcgis/internal/field"
)

func TestGet(t *testing.T) {
	attrs := map[string]any{"SYNC_KEY": "k1", "Name": "a", "name": "b"}
	for _, tc := range []struct {
		name string
		want any
	}{
		{"SYNC_KEY", "k1"},
		{"sync_key", "k1"},
		{"Sync_Key", "k1"},
		{"name", "b"}, // an exact spelling wins
		{"Name", "a"},
		{"missing", nil},
	} {
		if got := field.Get(attrs, tc.name); got != tc.want {
			t.Errorf("Get(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func ExampleGet() {
	// The layer spells its key field in capitals; the configuration does not.
	attrs := map[string]any{"OBJECTID": 7, "SYNC_KEY": "permit-42"}
	fmt.Println(field.Get(attrs, "sync_key"))
	// Output: permit-42
}
