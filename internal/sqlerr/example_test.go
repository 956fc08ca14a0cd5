package sqlerr_test

import (
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/hmsplatform/synclayer/internal/sqlerr"
)

// A batch that MariaDB rolled back for a deadlock runs again; any other
// error fails its callers.
func ExampleMariaDB() {
	deadlock := fmt.Errorf("claim batch: %w", &mysql.MySQLError{Number: 1213, Message: "Deadlock found"})
	fmt.Println(sqlerr.MariaDB(deadlock), sqlerr.MariaDB(errors.New("connection refused")))
	// Output:
	// true false
}
