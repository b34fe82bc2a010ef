package query

import (
	"errors"
	"fmt"
	"strings"
)

// Position locates an error in the SQL text the caller passed to Query or Plan, never in
// the rewritten text DuckDB sees. The zero Position means the location is unknown.
type Position struct {
	Offset int // 1-based byte offset into the query text, 0 when unknown
	Line   int // 1-based, 0 when unknown
	Column int // 1-based, counted in characters, 0 when unknown
}

// Known reports whether the position points into the text.
func (p Position) Known() bool { return p.Line > 0 }

// String is "LINE:COL", or "" when the position is unknown.
func (p Position) String() string {
	if !p.Known() {
		return ""
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

// positionAt turns a 0-based byte offset in sql into a Position (pos < 0 or past the end:
// unknown).
func positionAt(sql string, pos int) Position {
	if pos < 0 || pos > len(sql) {
		return Position{}
	}
	line, col := lineCol(sql, pos)
	return Position{Offset: pos + 1, Line: line, Column: col}
}

// PositionOf returns the position of the first error in err's chain that is located in
// the query text (a *SQLError or a *MissingQualError).
func PositionOf(err error) (Position, bool) {
	var l interface{ position() Position }
	if errors.As(err, &l) && l.position().Known() {
		return l.position(), true
	}
	return Position{}, false
}

// SQLError is an error in the user's SQL text.
type SQLError struct {
	Position
	Message string
	Hint    string
	Err     error // underlying error, when there is one
}

func (e *SQLError) position() Position { return e.Position }

func (e *SQLError) Error() string {
	var b strings.Builder
	if e.Known() {
		b.WriteString(e.Position.String())
		b.WriteString(": ")
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
	return &SQLError{Message: msg, Position: positionAt(sql, pos)}
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
	Position // of the table reference
	Table    string
	Columns  []string // the required key columns that no qual pins
}

func (e *MissingQualError) position() Position { return e.Position }

func (e *MissingQualError) Error() string {
	var loc string
	if e.Known() {
		loc = e.Position.String() + ": "
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

// ConnectionError is a connection the engine could not set up: a bad name, an unknown
// plugin, an aggregator that matches nothing, or a config the plugin rejected.
type ConnectionError struct {
	Connection string
	Plugin     string // "" when the plugin is what is unknown
	Err        error
}

func (e *ConnectionError) Error() string {
	return fmt.Sprintf("connection %s: %v", e.Connection, e.Err)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// ErrClosed is returned by an Engine that has been closed.
var ErrClosed = errors.New("query: engine closed")
