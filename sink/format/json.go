package format

import (
	"bufio"
	"io"

	"github.com/spoutdev/spout/sink"
)

// jsonEncoder writes rows as JSON objects: one per line (ndjson), or as the elements
// of one array (json), one per line so the file still reads well.
type jsonEncoder struct {
	w      *bufio.Writer
	cols   []sink.Column
	lines  bool
	n      int
	buf    []byte
	closed bool
}

func newJSON(w io.Writer, cols []sink.Column, lines bool) *jsonEncoder {
	return &jsonEncoder{w: bufio.NewWriterSize(w, 64<<10), cols: cols, lines: lines}
}

func (e *jsonEncoder) Encode(rows []sink.Row) error {
	for _, row := range rows {
		b := e.buf[:0]
		if !e.lines {
			if e.n == 0 {
				b = append(b, "[\n"...)
			} else {
				b = append(b, ",\n"...)
			}
		}
		b = sink.AppendJSONRow(b, e.cols, row)
		if e.lines {
			b = append(b, '\n')
		}
		e.n++
		if _, err := e.w.Write(b); err != nil {
			return err
		}
		e.buf = b
	}
	return nil
}

func (e *jsonEncoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if !e.lines {
		end := "\n]\n"
		if e.n == 0 {
			end = "[]\n"
		}
		if _, err := e.w.WriteString(end); err != nil {
			return err
		}
	}
	return e.w.Flush()
}
