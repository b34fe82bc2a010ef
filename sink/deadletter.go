package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DeadLetterStore keeps results whose delivery finally failed: a local directory
// (DirStore) or an S3 prefix (sink/s3).
type DeadLetterStore interface {
	// Put stores body under key, a relative slash-separated path, and returns where it
	// went (a path or URL) for logs and the run manifest.
	Put(ctx context.Context, key string, body io.Reader) (string, error)
}

// deadLetterTimeout bounds writing one dead letter. It runs on a context detached from
// the delivery's, which has usually expired or been cancelled by then.
const deadLetterTimeout = 2 * time.Minute

// DeadLetter returns s with failed results sent to store.
//
// Every batch is spooled as it is written. If the inner sink fails (after its own
// retries), Write keeps accepting rows, into the spool only, so the dead letter holds
// the whole result; Commit then writes it to store as NDJSON and returns a
// *DeliveryError: the first line is {"dead_letter": {...}} with the sink, query, run,
// columns, row count and error, and each further line is one row as a JSON object.
// Abort discards the result: the caller decided it is not worth delivering.
func DeadLetter(s Sink, store DeadLetterStore) Sink {
	if store == nil {
		return s
	}
	return &deadLetterSink{Sink: s, store: store}
}

type deadLetterSink struct {
	Sink
	store DeadLetterStore
}

func (s *deadLetterSink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	sp, err := newSpool()
	if err != nil {
		return nil, fmt.Errorf("sink %q: dead letter: %w", s.Name(), err)
	}
	d := &deadLetterWriter{s: s, info: info, spool: sp}
	if d.w, err = s.Sink.Open(ctx, info); err != nil {
		d.err = err
	}
	return d, nil
}

type deadLetterWriter struct {
	s     *deadLetterSink
	info  ResultInfo
	w     Writer // nil once failed
	spool *spool
	err   error // the delivery failure
	done  bool
}

func (d *deadLetterWriter) Write(ctx context.Context, rows []Row) error {
	if d.done {
		return fmt.Errorf("sink %q: result already committed or aborted", d.s.Name())
	}
	if err := d.spool.append(rows); err != nil {
		return fmt.Errorf("sink %q: dead letter: %w", d.s.Name(), err)
	}
	if d.err != nil {
		return nil
	}
	if err := d.w.Write(ctx, rows); err != nil {
		d.fail(ctx, err)
	}
	return nil
}

func (d *deadLetterWriter) fail(ctx context.Context, err error) {
	d.err = err
	_ = d.w.Abort(context.WithoutCancel(ctx))
	d.w = nil
}

func (d *deadLetterWriter) Commit(ctx context.Context) error {
	if d.done {
		return fmt.Errorf("sink %q: result already committed or aborted", d.s.Name())
	}
	d.done = true
	defer d.spool.close()
	if d.err == nil {
		err := d.w.Commit(ctx)
		if err == nil {
			return nil
		}
		d.fail(ctx, err)
	}
	derr := &DeliveryError{Sink: d.s.Name(), Err: d.err}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadLetterTimeout)
	defer cancel()
	derr.DeadLetter, derr.DeadLetterErr = d.write(dctx)
	return derr
}

func (d *deadLetterWriter) Abort(ctx context.Context) error {
	if d.done {
		return nil
	}
	d.done = true
	defer d.spool.close()
	if d.w == nil {
		return nil
	}
	return d.w.Abort(ctx)
}

// write streams the spool as NDJSON into the store.
func (d *deadLetterWriter) write(ctx context.Context) (string, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(d.encode(pw))
	}()
	where, err := d.s.store.Put(ctx, d.key(), pr)
	// Unblock the encoder if Put stopped reading early, and let it finish with the
	// spool before the spool is closed.
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
	if err != nil {
		return "", fmt.Errorf("sink %q: write dead letter: %w", d.s.Name(), err)
	}
	return where, nil
}

func (d *deadLetterWriter) encode(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cols := make([]map[string]string, len(d.info.Columns))
	for i, c := range d.info.Columns {
		cols[i] = map[string]string{"name": c.Name, "type": c.Type}
	}
	head, err := json.Marshal(map[string]any{"dead_letter": map[string]any{
		"sink":         d.s.Name(),
		"query":        d.info.Query,
		"run_id":       d.info.RunID,
		"connection":   d.info.Connection,
		"collected_at": d.info.CollectedAt,
		"columns":      cols,
		"rows":         d.spool.rows,
		"error":        d.err.Error(),
		"failed_at":    time.Now().UTC(),
	}})
	if err != nil {
		return err
	}
	bw.Write(head)
	bw.WriteByte('\n')
	var line []byte
	err = d.spool.replay(func(rows []Row) error {
		for _, row := range rows {
			line = AppendJSONRow(line[:0], d.info.Columns, row)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// key is <query>/<run id>-<sink>.ndjson, with path separators kept out of the parts.
func (d *deadLetterWriter) key() string {
	parts := []string{d.info.RunID, d.s.Name()}
	if d.info.Connection != "" {
		parts = append(parts, d.info.Connection)
	}
	for i, p := range parts {
		parts[i] = safeName(p)
	}
	return safeName(d.info.Query) + "/" + strings.Join(parts, "-") + ".ndjson"
}

func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}

// DirStore returns a DeadLetterStore that writes files under dir, creating directories
// as needed. A dead letter appears whole or not at all (written aside, then renamed).
func DirStore(dir string) DeadLetterStore { return dirStore(dir) }

type dirStore string

func (d dirStore) Put(ctx context.Context, key string, body io.Reader) (string, error) {
	path := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".dead-letter-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return path, nil
}

func (d dirStore) String() string { return string(d) }
