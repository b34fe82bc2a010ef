package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/spoutdev/spout/query"
)

func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("query [flags] \"SQL\" (or - to read the query from stdin)", "query", stderr)
	var ef engineFlags
	ef.register(fs)
	output := fs.String("output", "table", "output format: table, json, ndjson, csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"query: give exactly one SQL query (quote it), or - to read it from stdin"}
	}
	sqlText := fs.Arg(0)
	if sqlText == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		sqlText = string(b)
	}
	w, err := newRowWriter(*output, stdout)
	if err != nil {
		return usageError{err.Error()}
	}
	eng, err := ef.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	rows, err := eng.Query(ctx, sqlText)
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
