// Package file writes query results to local files, or to standard output, for local
// use and demos. Formats are those of sink/format, optionally gzipped.
//
// A file appears whole or not at all: it is written under a temporary name in the
// same directory and renamed into place at Commit. A result for standard output is
// held in a temporary file until Commit, so that concurrent results never interleave.
package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/sink/format"
)

func init() { sink.Register("file", sink.FactoryWithEnv(newWithEnv)) }

// newWithEnv is New writing standard output through the program's shared writer.
func newWithEnv(name string, cfg Config, env sink.Env) (*Sink, error) {
	s, err := New(name, cfg)
	if err != nil {
		return nil, err
	}
	if env.Stdout != nil {
		s.stdout = env.Stdout
	}
	return s, nil
}

// Stdout is the path that means standard output.
const Stdout = "-"

// Config is a file sink's options in spout.yaml.
type Config struct {
	// Path is a text/template for the file path, over sink.NameData (.Query, .RunID,
	// .Date, .Ext, ...), e.g. "out/{{.Query}}-{{.RunID}}{{.Ext}}"; "-" or "stdout"
	// is standard output. Directories are created as needed. Required.
	Path string `yaml:"path" doc:"A text/template for the file path over .Query, .RunID, .Connection, .Sink, .Date, .Ext and the like, e.g. out/{{.Query}}-{{.RunID}}{{.Ext}}; \"-\" or \"stdout\" is standard output. Directories are created as needed. Required."`
	// Format is jsonl (default), ndjson, json, csv or parquet.
	Format string `yaml:"format" doc:"jsonl (default), ndjson, json, csv or parquet."`
	// Gzip compresses the output (not with parquet).
	Gzip bool `yaml:"gzip" doc:"Compress the output (not with parquet, which compresses its own pages)."`
}

// Sink is a file sink.
type Sink struct {
	name string
	cfg  Config
	out  format.Output      // cfg.Format and cfg.Gzip, checked
	path *template.Template // nil for standard output
	// stdout receives results for standard output, each whole: results are held in a
	// temporary file until Commit and copied out while stdout is held.
	stdout *sink.SharedWriter
}

// New checks cfg and returns the sink. It is registered as sink type "file".
func New(name string, cfg Config) (*Sink, error) {
	fail := func(field string, err error) (*Sink, error) {
		return nil, &sink.FieldError{Field: field, Err: err}
	}
	out, err := format.Output{Format: cfg.Format, Gzip: cfg.Gzip}.Check()
	if err != nil {
		return nil, err
	}
	s := &Sink{name: name, cfg: cfg, out: out, stdout: sink.NewSharedWriter(os.Stdout)}
	switch cfg.Path {
	case "":
		return fail("path", errors.New(`required: a file path template, or "-" for standard output`))
	case Stdout, "stdout":
		return s, nil
	}
	t, err := template.New("path").Option("missingkey=error").Parse(cfg.Path)
	if err != nil {
		return fail("path", fmt.Errorf("bad template: %w", err))
	}
	s.path = t
	if _, err := s.render(sink.ResultInfo{Query: "q", RunID: "r", Connection: "c", CollectedAt: time.Now()}); err != nil {
		return fail("path", err)
	}
	return s, nil
}

// Name implements sink.Sink.
func (s *Sink) Name() string { return s.name }

// Close implements sink.Sink.
func (s *Sink) Close() error { return nil }

func (s *Sink) errorf(format string, args ...any) error {
	return fmt.Errorf("file sink %q: "+format, append([]any{s.name}, args...)...)
}

func (s *Sink) render(info sink.ResultInfo) (string, error) {
	var b bytes.Buffer
	if err := s.path.Execute(&b, sink.NewNameData(info, s.name, s.out.Ext())); err != nil {
		return "", fmt.Errorf("path template: %w", err)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("path template %q gives an empty path", s.cfg.Path)
	}
	return filepath.Clean(b.String()), nil
}

// Open creates the result's temporary file. Local failures (permissions, a full disk)
// are reported as permanent: retrying rarely helps.
func (s *Sink) Open(ctx context.Context, info sink.ResultInfo) (sink.Writer, error) {
	w := &writer{s: s}
	dir := ""
	if s.path != nil {
		var err error
		if w.path, err = s.render(info); err != nil {
			return nil, sink.Permanent(s.errorf("%w", err))
		}
		dir = filepath.Dir(w.path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, sink.Permanent(s.errorf("%w", err))
		}
	}
	f, err := os.CreateTemp(dir, ".spout-*.tmp")
	if err != nil {
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	w.f = f
	w.buf = bufio.NewWriterSize(f, 64<<10)
	if w.enc, err = s.out.NewEncoder(w.buf, info.Columns); err != nil {
		w.Abort(ctx)
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	return w, nil
}

type writer struct {
	s    *Sink
	path string // "" for standard output
	f    *os.File
	buf  *bufio.Writer
	enc  format.Encoder
	err  error
}

func (w *writer) Write(ctx context.Context, rows []sink.Row) error {
	if w.err != nil {
		return w.err
	}
	if err := w.enc.Encode(rows); err != nil {
		w.err = sink.Permanent(w.s.errorf("write: %w", err))
	}
	return w.err
}

func (w *writer) Commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	err := w.enc.Close()
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil && w.path != "" {
		err = w.f.Sync() // the rename must not be visible before the data
	}
	if err != nil {
		w.err = sink.Permanent(w.s.errorf("write: %w", err))
		return w.err
	}
	if w.path == "" {
		err = w.copyToStdout()
	} else {
		err = w.f.Close()
		if err == nil {
			err = os.Rename(w.f.Name(), w.path)
		}
	}
	if err != nil {
		w.err = sink.Permanent(w.s.errorf("%w", err))
		return w.err
	}
	w.f = nil
	return nil
}

func (w *writer) copyToStdout() error {
	defer w.Abort(context.Background()) // the temporary file
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return w.s.stdout.Hold(func(out io.Writer) error {
		if _, err := io.Copy(out, w.f); err != nil {
			return fmt.Errorf("write to standard output: %w", err)
		}
		return nil
	})
}

func (w *writer) Abort(ctx context.Context) error {
	if w.f == nil {
		return nil
	}
	w.f.Close()
	os.Remove(w.f.Name())
	w.f = nil
	return nil
}
