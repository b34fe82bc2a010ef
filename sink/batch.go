package sink

import (
	"context"
	"encoding/json"
	"time"
)

// BatchPolicy bounds the batches a sink receives: a batch is flushed when it holds Rows
// rows or about Bytes bytes, whichever comes first, and at Commit.
type BatchPolicy struct {
	Rows  int      `yaml:"rows" doc:"Rows per batch at most; default 1000."`                                 // default 1000
	Bytes ByteSize `yaml:"bytes" doc:"About how many bytes a batch holds at most, e.g. 1MiB; default 4MiB."` // default 4 MiB
}

// Default batch bounds.
const (
	DefaultBatchRows  = 1000
	DefaultBatchBytes = 4 << 20
)

func (p BatchPolicy) withDefaults() BatchPolicy {
	if p.Rows <= 0 {
		p.Rows = DefaultBatchRows
	}
	if p.Bytes <= 0 {
		p.Bytes = DefaultBatchBytes
	}
	return p
}

// Batch returns s with its writes regrouped into batches bounded by p, whatever sizes
// the caller writes.
func Batch(s Sink, p BatchPolicy) Sink {
	return &batchSink{Sink: s, p: p.withDefaults()}
}

type batchSink struct {
	Sink
	p BatchPolicy
}

func (s *batchSink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	w, err := s.Sink.Open(ctx, info)
	if err != nil {
		return nil, err
	}
	return &batchWriter{w: w, p: s.p}, nil
}

type batchWriter struct {
	w     Writer
	p     BatchPolicy
	buf   []Row
	bytes int64
}

func (b *batchWriter) Write(ctx context.Context, rows []Row) error {
	for _, row := range rows {
		b.buf = append(b.buf, row)
		b.bytes += RowSize(row)
		if len(b.buf) >= b.p.Rows || b.bytes >= int64(b.p.Bytes) {
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *batchWriter) flush(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	// The inner writer may keep the batch until Commit, so hand it a slice of its own
	// rather than reusing the buffer.
	batch := b.buf
	b.buf, b.bytes = make([]Row, 0, min(len(batch), b.p.Rows)), 0
	return b.w.Write(ctx, batch)
}

func (b *batchWriter) Commit(ctx context.Context) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	return b.w.Commit(ctx)
}

func (b *batchWriter) Abort(ctx context.Context) error {
	b.buf = nil
	return b.w.Abort(ctx)
}

// RowSize estimates the encoded size of a row in bytes, for batch byte limits: the
// lengths of its text and JSON values plus a few bytes per value of syntax.
func RowSize(row Row) int64 {
	n := int64(2)
	for _, v := range row {
		n += 4
		switch v := v.(type) {
		case string:
			n += int64(len(v))
		case json.RawMessage:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		case time.Time:
			n += 30
		case nil:
			n += 4
		default:
			n += 8
		}
	}
	return n
}
