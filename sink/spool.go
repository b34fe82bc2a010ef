package sink

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// spool keeps the batches of one result in an unlinked temporary file, so a retry can
// replay the result into a fresh Writer (and a dead letter can hold all of it) without
// keeping it in memory. Batch boundaries are kept: a replay repeats the same Writes.
//
// The encoding is private and exact: every value comes back with the Go type it went in
// with, which a text format such as NDJSON could not promise (int64 vs float64, time).
type spool struct {
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes written, flushed or not
	rows int64
	buf  []byte
}

// Value tags of the spool encoding.
const (
	tagNil byte = iota
	tagString
	tagInt
	tagFloat
	tagTrue
	tagFalse
	tagTime
	tagJSON
	tagBytes
)

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "spout-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	// Unlink at once: the open file keeps the data, and nothing is left behind if the
	// process dies.
	_ = os.Remove(f.Name())
	return &spool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// append adds one batch.
func (s *spool) append(rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	b := binary.AppendUvarint(s.buf[:0], uint64(len(rows)))
	for _, row := range rows {
		b = binary.AppendUvarint(b, uint64(len(row)))
		for i, v := range row {
			var err error
			if b, err = appendValue(b, v); err != nil {
				return fmt.Errorf("spool row value %d: %w", i, err)
			}
		}
	}
	// The whole batch is encoded before any of it is written, so a bad value leaves the
	// spool as it was. Batches are bounded (see Batch), and so is this buffer.
	if err := s.write(b); err != nil {
		return err
	}
	if cap(b) <= 1<<20 {
		s.buf = b[:0]
	}
	s.rows += int64(len(rows))
	return nil
}

func (s *spool) write(b []byte) error {
	n, err := s.w.Write(b)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("write spool file: %w", err)
	}
	return nil
}

// replay calls fn with every batch, in order. It may be called more than once and
// appends may follow it.
func (s *spool) replay(fn func(rows []Row) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush spool file: %w", err)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.size), 64<<10)
	for {
		n, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read spool file: %w", err)
		}
		// Fresh rows each batch: a Writer may keep them until Commit.
		rows := make([]Row, n)
		for i := range rows {
			if rows[i], err = readRow(r); err != nil {
				return fmt.Errorf("read spool file: %w", err)
			}
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
}

func (s *spool) close() error {
	if s == nil || s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case string:
		b = append(b, tagString)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), v), nil
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(v)), nil
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(v)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), nil
	case float32:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(float64(v))), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case time.Time:
		t, err := v.MarshalBinary()
		if err != nil {
			return b, err
		}
		b = append(b, tagTime)
		b = binary.AppendUvarint(b, uint64(len(t)))
		return append(b, t...), nil
	case json.RawMessage:
		b = append(b, tagJSON)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...), nil
	case []byte:
		b = append(b, tagBytes)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...), nil
	default:
		return b, fmt.Errorf("unsupported value type %T", v)
	}
}

func readRow(r *bufio.Reader) (Row, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	row := make(Row, n)
	for i := range row {
		if row[i], err = readValue(r); err != nil {
			return nil, err
		}
	}
	return row, nil
}

func readValue(r *bufio.Reader) (any, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagString:
		b, err := readBytes(r)
		return string(b), err
	case tagInt:
		return binary.ReadVarint(r)
	case tagFloat:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b[:])), nil
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagTime:
		b, err := readBytes(r)
		if err != nil {
			return nil, err
		}
		var t time.Time
		err = t.UnmarshalBinary(b)
		return t, err
	case tagJSON:
		b, err := readBytes(r)
		return json.RawMessage(b), err
	case tagBytes:
		return readBytes(r)
	default:
		return nil, fmt.Errorf("corrupt spool: unknown tag %d", tag)
	}
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
