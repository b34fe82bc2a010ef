package rewrite

import (
	"fmt"
	"strings"
)

// Error is an error in the query text. Offset is the 0-based byte offset it points at, or
// -1 when the location is unknown; the engine turns it into a line and column.
type Error struct {
	Offset int
	Msg    string
	Err    error // the parser's error, when there is one
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// MissingQualError is a table whose List needs key columns the query does not pin to
// constants. Offset is the table reference's 0-based byte offset (-1: unknown).
type MissingQualError struct {
	Offset  int
	Table   string
	Columns []string
}

func (e *MissingQualError) Error() string {
	return fmt.Sprintf("%s requires a qual on %s", e.Table, strings.Join(e.Columns, " and "))
}
