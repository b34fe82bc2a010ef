// Package format encodes query results as files: json (one array), ndjson (one object
// per line, also called jsonl), csv (RFC 4180) and parquet. The file and S3 sinks share
// it. Encoders stream: memory stays bounded whatever the size of the result.
package format

import (
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/spoutdev/spout/sink"
)

// An Encoder writes rows in one format to an io.Writer.
type Encoder interface {
	// Encode writes rows. They must have the columns the encoder was made with.
	Encode(rows []sink.Row) error
	// Close writes what the format needs at the end (json's "]", parquet's footer) and
	// flushes. It does not close the underlying writer.
	Close() error
}

// Format names. JSONL is another name for NDJSON.
const (
	JSON    = "json"
	NDJSON  = "ndjson"
	JSONL   = "jsonl"
	CSV     = "csv"
	Parquet = "parquet"
)

// Names lists the format names New accepts.
func Names() []string { return []string{JSON, NDJSON, JSONL, CSV, Parquet} }

// Check reports whether name is a known format, with an error listing them if not.
func Check(name string) error {
	switch name {
	case JSON, NDJSON, JSONL, CSV, Parquet:
		return nil
	}
	return fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names(), ", "))
}

// Ext is the file name extension for a format, with its dot.
func Ext(name string) string { return "." + name }

// ContentType is the media type for a format.
func ContentType(name string) string {
	switch name {
	case JSON:
		return "application/json"
	case NDJSON, JSONL:
		return "application/x-ndjson"
	case CSV:
		return "text/csv; charset=utf-8; header=present"
	case Parquet:
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// Compressible reports whether gzip makes sense on top of the format; parquet
// compresses its own pages.
func Compressible(name string) bool { return name != Parquet }

// New returns an Encoder writing the named format to w.
func New(name string, w io.Writer, cols []sink.Column) (Encoder, error) {
	switch name {
	case JSON:
		return newJSON(w, cols, false), nil
	case NDJSON, JSONL:
		return newJSON(w, cols, true), nil
	case CSV:
		return newCSV(w, cols)
	case Parquet:
		return newParquet(w, cols)
	}
	return nil, Check(name)
}

// Output is a format, optionally gzipped: the format and gzip options of the sinks
// that write files (file, s3).
type Output struct {
	Format string // a format name; "" means JSONL
	Gzip   bool
}

// Check returns o with the default format filled in, or a *sink.FieldError naming the
// option at fault, "format" or "gzip".
func (o Output) Check() (Output, error) {
	if o.Format == "" {
		o.Format = JSONL
	}
	if err := Check(o.Format); err != nil {
		return o, &sink.FieldError{Field: "format", Err: err}
	}
	if o.Gzip && !Compressible(o.Format) {
		return o, &sink.FieldError{Field: "gzip", Err: fmt.Errorf("not with format %s, which compresses its own pages", o.Format)}
	}
	return o, nil
}

// Ext is the file name extension, with its dot: the format's, then .gz if gzipped.
func (o Output) Ext() string {
	if o.Gzip {
		return Ext(o.Format) + ".gz"
	}
	return Ext(o.Format)
}

// ContentType is the media type of the output. Gzipped output is application/gzip
// rather than the format's type with Content-Encoding: gzip, which would make HTTP
// clients unzip it on download; lake engines go by the .gz extension.
func (o Output) ContentType() string {
	if o.Gzip {
		return "application/gzip"
	}
	return ContentType(o.Format)
}

// NewEncoder returns an Encoder writing o's format to w, gzipped if o says so. Its
// Close ends the gzip stream too, but does not close w.
func (o Output) NewEncoder(w io.Writer, cols []sink.Column) (Encoder, error) {
	if !o.Gzip {
		return New(o.Format, w, cols)
	}
	gz := gzip.NewWriter(w)
	enc, err := New(o.Format, gz, cols)
	if err != nil {
		return nil, err
	}
	return &gzipEncoder{Encoder: enc, gz: gz}, nil
}

type gzipEncoder struct {
	Encoder
	gz *gzip.Writer
}

func (e *gzipEncoder) Close() error {
	if err := e.Encoder.Close(); err != nil {
		return err
	}
	return e.gz.Close()
}
