package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spoutdev/spout/query"
)

// rowWriter prints a result in one of the query command's formats.
type rowWriter interface {
	header(cols []query.Column) error
	row(vals []any) error
	flush() error
}

func newRowWriter(format string, w io.Writer) (rowWriter, error) {
	switch format {
	case "table":
		return &tableWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}, nil
	case "json":
		return &jsonWriter{w: w, array: true}, nil
	case "ndjson":
		return &jsonWriter{w: w}, nil
	case "csv":
		return &csvWriter{w: csv.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (table, json, ndjson, csv)", format)
}

// text renders a value the way psql would: NULL empty, JSON compact, times in RFC 3339.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

type tableWriter struct {
	tw *tabwriter.Writer
}

func (t *tableWriter) header(cols []query.Column) error {
	names := make([]string, len(cols))
	rules := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		rules[i] = strings.Repeat("-", len(c.Name))
	}
	fmt.Fprintln(t.tw, strings.Join(names, "\t"))
	_, err := fmt.Fprintln(t.tw, strings.Join(rules, "\t"))
	return err
}

func (t *tableWriter) row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = strings.ReplaceAll(text(v), "\n", " ")
	}
	_, err := fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
	return err
}

func (t *tableWriter) flush() error { return t.tw.Flush() }

type jsonWriter struct {
	w     io.Writer
	array bool
	cols  []query.Column
	n     int
}

func (j *jsonWriter) header(cols []query.Column) error {
	j.cols = cols
	if j.array {
		_, err := io.WriteString(j.w, "[")
		return err
	}
	return nil
}

func (j *jsonWriter) row(vals []any) error {
	var b strings.Builder
	if j.array && j.n > 0 {
		b.WriteString(",")
	}
	if j.array {
		b.WriteString("\n  ")
	}
	b.WriteString("{")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(j.cols[i].Name)
		b.Write(k)
		b.WriteString(":")
		if t, ok := v.(time.Time); ok {
			v = t.Format(time.RFC3339Nano)
		}
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(val)
	}
	b.WriteString("}")
	if !j.array {
		b.WriteString("\n")
	}
	j.n++
	_, err := io.WriteString(j.w, b.String())
	return err
}

func (j *jsonWriter) flush() error {
	if j.array {
		_, err := io.WriteString(j.w, "\n]\n")
		return err
	}
	return nil
}

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) header(cols []query.Column) error {
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.Name
	}
	return c.w.Write(names)
}

func (c *csvWriter) row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = text(v)
	}
	return c.w.Write(cells)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}
