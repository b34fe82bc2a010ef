package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/sink/format"
)

// rowWriter prints a result in one of the query command's formats.
type rowWriter interface {
	header(cols []query.Column) error
	row(vals []any) error
	flush() error
}

func newRowWriter(name string, w io.Writer) (rowWriter, error) {
	switch name {
	case "table":
		return &tableWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}, nil
	case format.JSON, format.NDJSON, format.CSV:
		// The file and S3 sinks' encoders, so that a query prints what a sink would write.
		return &encoderWriter{format: name, w: w}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (table, json, ndjson, csv)", name)
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

// encoderWriter prints rows through a sink/format encoder.
type encoderWriter struct {
	format string
	w      io.Writer
	enc    format.Encoder
	batch  [1]sink.Row
}

func (e *encoderWriter) header(cols []query.Column) error {
	// The json and csv encoders go by column name only; the types matter to parquet,
	// which the query command does not print.
	sc := make([]sink.Column, len(cols))
	for i, c := range cols {
		sc[i] = sink.Column{Name: c.Name}
	}
	enc, err := format.New(e.format, e.w, sc)
	e.enc = enc
	return err
}

func (e *encoderWriter) row(vals []any) error {
	// The engine decodes jsonb, arrays and records; the encoders embed JSON as it is.
	for i, v := range vals {
		switch v.(type) {
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			vals[i] = json.RawMessage(b)
		}
	}
	e.batch[0] = vals
	return e.enc.Encode(e.batch[:])
}

func (e *encoderWriter) flush() error { return e.enc.Close() }
