package format

import (
	"encoding/csv"
	"io"

	"github.com/spoutdev/spout/sink"
)

// csvEncoder writes RFC 4180 CSV: a header line of column names, CRLF line ends,
// fields quoted when needed. jsonb values are their JSON text; null is an empty field.
type csvEncoder struct {
	w      *csv.Writer
	record []string
}

func newCSV(w io.Writer, cols []sink.Column) (*csvEncoder, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	return &csvEncoder{w: cw, record: make([]string, len(cols))}, nil
}

func (e *csvEncoder) Encode(rows []sink.Row) error {
	for _, row := range rows {
		for i := range e.record {
			e.record[i] = ""
			if i < len(row) {
				e.record[i], _ = sink.Text(row[i])
			}
		}
		if err := e.w.Write(e.record); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvEncoder) Close() error {
	e.w.Flush()
	return e.w.Error()
}
