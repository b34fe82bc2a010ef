// Package s3 keeps diff snapshots as S3 objects (or objects of an S3-compatible store),
// one per snapshot at <prefix><key>.state.gz: gzipped lines, a header line and then one
// line per record, "<row hash>\t<key hash or ->\t<row JSON>".
//
// Save streams the object with a multipart upload, which S3 makes visible only when it
// completes, so a reader sees the old snapshot or the new one. The client is the s3
// sink's (sink/s3.NewClient): credentials from the default AWS chain, region, endpoint
// and path style as for the sink.
package s3

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/spoutdev/spout/sink"
	sinks3 "github.com/spoutdev/spout/sink/s3"
	"github.com/spoutdev/spout/state"
)

// header is the first line of every snapshot object; a later format gets a new one.
const header = "spout-state 1"

// Store is a state store in S3.
type Store struct {
	bucket   string
	prefix   string
	client   *s3.Client
	uploader *manager.Uploader
}

// New returns a store keeping snapshots in bucket under prefix ("/" added if it lacks
// one). It makes no request. Errors about an option are *sink.FieldError naming it.
func New(bucket, prefix, region, endpoint string, pathStyle bool) (*Store, error) {
	if bucket == "" {
		return nil, &sink.FieldError{Field: "bucket", Err: errors.New("required with type s3")}
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	client, err := sinks3.NewClient(region, endpoint, pathStyle)
	if err != nil {
		field := "region"
		if endpoint != "" {
			field = "endpoint"
		}
		return nil, &sink.FieldError{Field: field, Err: err}
	}
	return &Store{bucket: bucket, prefix: prefix, client: client, uploader: manager.NewUploader(client)}, nil
}

// Type implements state.Store.
func (s *Store) Type() string { return "s3" }

// Close implements state.Store; the client holds nothing that needs closing.
func (s *Store) Close() error { return nil }

func (s *Store) objectKey(key string) string { return s.prefix + key + ".state.gz" }

func (s *Store) where(key string) string { return "s3://" + s.bucket + "/" + s.objectKey(key) }

// Load implements state.Store.
func (s *Store) Load(ctx context.Context, key string, fn func(state.Record) error) (bool, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return false, nil
		}
		return false, fmt.Errorf("s3 state: reading %s: %w", s.where(key), err)
	}
	defer out.Body.Close()
	if err := s.read(out.Body, fn); err != nil {
		return true, fmt.Errorf("s3 state: reading %s: %w", s.where(key), err)
	}
	return true, nil
}

func (s *Store) read(body io.Reader, fn func(state.Record) error) error {
	zr, err := gzip.NewReader(body)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(zr)
	// A row is one line; the largest the engine gives (a policy document) is far below this.
	sc.Buffer(nil, 64<<20)
	if !sc.Scan() || sc.Text() != header {
		if err := sc.Err(); err != nil {
			return err
		}
		return fmt.Errorf("not a spout state object (want the header %q)", header)
	}
	for line := 2; sc.Scan(); line++ {
		rowHash, rest, ok1 := bytes.Cut(sc.Bytes(), []byte{'\t'})
		keyHash, row, ok2 := bytes.Cut(rest, []byte{'\t'})
		if !ok1 || !ok2 {
			return fmt.Errorf("line %d: want three tab-separated fields", line)
		}
		rec := state.Record{Row: bytes.Clone(row)}
		if rec.Hash, err = state.ParseHash(string(rowHash)); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if string(keyHash) != "-" {
			if rec.Key, err = state.ParseHash(string(keyHash)); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Save implements state.Store.
func (s *Store) Save(ctx context.Context, key string, records iter.Seq2[state.Record, error]) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw, records)) }()
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(s.objectKey(key)),
		Body:        pr,
		ContentType: aws.String("application/gzip"),
	})
	// Unblock the writer whatever happened to the upload.
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		return fmt.Errorf("s3 state: writing %s: %w", s.where(key), err)
	}
	return nil
}

func write(w io.Writer, records iter.Seq2[state.Record, error]) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 64<<10)
	bw.WriteString(header + "\n")
	for rec, err := range records {
		if err != nil {
			return err
		}
		bw.WriteString(rec.Hash.String())
		bw.WriteByte('\t')
		if rec.Key == (state.Hash{}) {
			bw.WriteByte('-')
		} else {
			bw.WriteString(rec.Key.String())
		}
		bw.WriteByte('\t')
		bw.Write(rec.Row)
		if _, err := bw.WriteString("\n"); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}
