package query

import (
	"errors"
	"fmt"
	"strings"
)

// SQLError is an error in the user's SQL text. Line and Column point into the text the
// caller passed to Query or Plan (1-based), never into the rewritten text DuckDB sees.
type SQLError struct {
	Message  string
	Position int // 1-based byte offset into the query text, 0 when unknown
	Line     int // 1-based, 0 when unknown
	Column   int // 1-based, 0 when unknown
	Hint     string
	Err      error // underlying error, when there is one
}

func (e *SQLError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *SQLError) Unwrap() error { return e.Err }

// newSQLError builds a SQLError located at the 0-based byte offset pos in sql (pos < 0:
// unknown location).
func newSQLError(sql string, pos int, msg string) *SQLError {
	e := &SQLError{Message: msg}
	if pos >= 0 && pos <= len(sql) {
		e.Position = pos + 1
		e.Line, e.Column = lineCol(sql, pos)
	}
	return e
}

// lineCol turns a 0-based byte offset into a 1-based line and a 1-based column counted in
// characters, which is what editors show.
func lineCol(s string, pos int) (line, col int) {
	line, col = 1, 1
	for i, r := range s {
		if i >= pos {
			break
		}
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}

// MissingQualError is returned, before any API call, when a table's List needs key columns
// that the query does not pin to constants.
type MissingQualError struct {
	Table    string
	Columns  []string // the required key columns that no qual pins
	Position int      // 1-based offset of the table reference in the query, 0 when unknown
	Line     int
	Column   int
}

func (e *MissingQualError) Error() string {
	var loc string
	if e.Line > 0 {
		loc = fmt.Sprintf("%d:%d: ", e.Line, e.Column)
	}
	return fmt.Sprintf("%s%s requires a qual on %s", loc, e.Table, strings.Join(e.Columns, " and "))
}

// PluginError is an error a plugin returned while a table was being scanned.
type PluginError struct {
	Plugin     string
	Connection string
	Table      string
	Err        error
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("scanning %s.%s (plugin %s): %v", e.Connection, e.Table, e.Plugin, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// ErrClosed is returned by an Engine that has been closed.
var ErrClosed = errors.New("query: engine closed")
