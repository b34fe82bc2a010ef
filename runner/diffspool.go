package runner

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/spoutdev/spout/state"
)

// recordSpool keeps snapshot records in a temporary file, so that a diff holds only
// hashes and offsets in memory, not rows. A record is framed as row hash (16 bytes), key
// hash (16), row length (4, big-endian) and the row.
type recordSpool struct {
	f   *os.File
	w   *bufio.Writer
	end int64 // bytes written, flushed or not
}

const recordHeader = 2*len(state.Hash{}) + 4

func newRecordSpool() (*recordSpool, error) {
	f, err := os.CreateTemp("", "spout-diff-*")
	if err != nil {
		return nil, fmt.Errorf("creating the diff spool: %w", err)
	}
	// Unlinked at once: the file lives as long as it is open, and a killed run leaves none.
	os.Remove(f.Name())
	return &recordSpool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// add appends rec and returns its offset.
func (s *recordSpool) add(rec state.Record) (int64, error) {
	off := s.end
	var hdr [recordHeader]byte
	copy(hdr[:16], rec.Hash[:])
	copy(hdr[16:32], rec.Key[:])
	binary.BigEndian.PutUint32(hdr[32:], uint32(len(rec.Row)))
	s.w.Write(hdr[:])
	if _, err := s.w.Write(rec.Row); err != nil {
		return 0, fmt.Errorf("writing the diff spool: %w", err)
	}
	s.end += int64(recordHeader + len(rec.Row))
	return off, nil
}

// at reads the record at off.
func (s *recordSpool) at(off int64) (state.Record, error) {
	if err := s.w.Flush(); err != nil {
		return state.Record{}, fmt.Errorf("writing the diff spool: %w", err)
	}
	return readRecord(io.NewSectionReader(s.f, off, s.end-off))
}

// all yields every record in the order added.
func (s *recordSpool) all() iter.Seq2[state.Record, error] {
	return func(yield func(state.Record, error) bool) {
		if err := s.w.Flush(); err != nil {
			yield(state.Record{}, fmt.Errorf("writing the diff spool: %w", err))
			return
		}
		r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.end), 64<<10)
		for {
			rec, err := readRecord(r)
			if err == io.EOF {
				return
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

func readRecord(r io.Reader) (state.Record, error) {
	var hdr [recordHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return state.Record{}, err
		}
		return state.Record{}, fmt.Errorf("reading the diff spool: %w", err)
	}
	var rec state.Record
	copy(rec.Hash[:], hdr[:16])
	copy(rec.Key[:], hdr[16:32])
	rec.Row = make([]byte, binary.BigEndian.Uint32(hdr[32:]))
	if _, err := io.ReadFull(r, rec.Row); err != nil {
		return state.Record{}, fmt.Errorf("reading the diff spool: %w", err)
	}
	return rec, nil
}

func (s *recordSpool) close() {
	if s != nil {
		s.f.Close()
	}
}
