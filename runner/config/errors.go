package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a 1-based line and column in a file. The zero Pos means "somewhere in the file".
type Pos struct {
	Line   int
	Column int
}

// Error is one problem in a configuration file, located the way editors and compilers
// print it: file:line:column: message.
type Error struct {
	File string
	Pos
	Msg string
}

func (e *Error) Error() string {
	line, col := max(e.Line, 1), max(e.Column, 1)
	return fmt.Sprintf("%s:%d:%d: %s", e.File, line, col, e.Msg)
}

// Errors is every problem found in a configuration, in file order. Validation collects
// them all instead of stopping at the first, so one edit-validate cycle fixes them all.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when there are none. Errors are sorted by file and
// position.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}

// Sort orders es by file, line and column, keeping the order of errors at one position.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// errorList collects errors against one file.
type errorList struct {
	file string
	errs Errors
}

func (l *errorList) add(p Pos, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// failed runs fn and reports whether it found errors, so the parts of a configuration
// that have them can be skipped by the checks that come after parsing.
func (l *errorList) failed(fn func()) bool {
	n := len(l.errs)
	fn()
	return len(l.errs) > n
}
