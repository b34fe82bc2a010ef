package main

import (
	"io"
	"strings"

	"github.com/spoutdev/spout/query"
)

type queryCmd struct {
	engineFlags
	outputFlag
	SQL string `arg:"" help:"The query (quote it), or - to read it from stdin."`
}

func (c *queryCmd) Run(e *env) error {
	sqlText := c.SQL
	if sqlText == "-" {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return err
		}
		sqlText = string(b)
	}
	w, err := newRowWriter(c.Output, e.stdout)
	if err != nil {
		return usageError{err.Error()}
	}
	eng, err := c.open(e.ctx, e.stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	rows, err := eng.Query(e.ctx, sqlText)
	if err != nil {
		return queryError(sqlText, err)
	}
	defer rows.Close()
	if err := w.header(rows.Columns()); err != nil {
		return err
	}
	for rows.Next() {
		vals, _ := rows.Values()
		if err := w.row(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return queryError(sqlText, err)
	}
	return w.flush()
}

// queryError shows the offending line under a located SQL error.
func queryError(sqlText string, err error) error {
	p, ok := query.PositionOf(err)
	if !ok {
		return err
	}
	lines := strings.Split(sqlText, "\n")
	if p.Line > len(lines) {
		return err
	}
	line := lines[p.Line-1]
	return &located{err: err, context: line + "\n" + strings.Repeat(" ", max(p.Column-1, 0)) + "^"}
}

type located struct {
	err     error
	context string
}

func (l *located) Error() string { return l.err.Error() + "\n" + l.context }
func (l *located) Unwrap() error { return l.err }
