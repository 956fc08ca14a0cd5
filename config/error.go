package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid marks every error about the content of a configuration: a
// syntax error, an unknown field, a bad value, a mapping that does not
// compile, an unresolved secret. Test for it with [errors.Is]; the details
// are in [*Error], found with [errors.As].
var ErrInvalid = errors.New("invalid configuration")

// Error is one problem in a configuration file. It names the file, the
// line and column (1-based; 0 when the problem has no place in the file,
// such as a file that cannot be read) and the path to the field, such as
// partners[2].routes.WorkflowDeployed.record.start. Its text never holds
// the value of a secret.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string // empty for the document as a whole
	Msg    string
}

// Error reports "file:line:column: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns [ErrInvalid].
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors is every problem found in one configuration, in file order. Load
// and Build return it (as an error) when there is at least one.
type Errors []*Error

// maxErrors bounds how many problems one load reports.
const maxErrors = 50

// Error reports one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so errors.As finds the first [*Error] and
// errors.Is finds [ErrInvalid].
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
