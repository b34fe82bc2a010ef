package s3

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/s3test"
	"github.com/spoutdev/spout/sink"
)

// fakeS3 is the shared in-process S3 with a client of this package's making.
type fakeS3 struct {
	*s3test.Server
	url    string
	client *s3.Client
}

func newFakeS3(t *testing.T, buckets ...string) *fakeS3 {
	t.Helper()
	srv := s3test.Start(t, buckets...)
	f := &fakeS3{Server: srv, url: srv.URL}
	var err error
	if f.client, err = newClient("", srv.URL, true); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) config(cfg Config) Config {
	if cfg.Bucket == "" {
		cfg.Bucket = "lake"
	}
	cfg.Endpoint, cfg.PathStyle = f.url, true
	return cfg
}

func (f *fakeS3) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fakeS3) keys(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := f.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

func (f *fakeS3) pendingUploads(t *testing.T, bucket string) int {
	t.Helper()
	out, err := f.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func (f *fakeS3) saw(match func(r *http.Request) bool) []*http.Request {
	var out []*http.Request
	for _, r := range f.Requests() {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

var (
	cols = []sink.Column{
		{Name: "name", Type: sink.TypeText},
		{Name: "tags", Type: sink.TypeJSONB},
		{Name: "size", Type: sink.TypeBigint},
	}
	info = sink.ResultInfo{
		Query: "buckets", RunID: "run-1", Connection: "aws", Columns: cols,
		CollectedAt: time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC),
	}
	rows = []sink.Row{
		{"zoë ✓", json.RawMessage(`{"env":"prod"}`), int64(1)},
		{"b,\"c\"", nil, int64(2)},
	}
)

func deliver(t *testing.T, s sink.Sink, rows []sink.Row) error {
	t.Helper()
	ctx := context.Background()
	w, err := s.Open(ctx, info)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(ctx, []sink.Row{r}); err != nil {
			w.Abort(ctx)
			return err
		}
	}
	if err := w.Commit(ctx); err != nil {
		w.Abort(ctx)
		return err
	}
	return nil
}

func TestKeysFormatsAndGzip(t *testing.T) {
	f := newFakeS3(t, "lake")
	tests := []struct {
		format string
		gzip   bool
		key    string
		check  func(t *testing.T, body []byte)
	}{
		{"", false, "spout/buckets/dt=2026-11-22/run-1.jsonl", checkNDJSON},
		{"ndjson", true, "spout/buckets/dt=2026-11-22/run-1.ndjson.gz", checkNDJSON},
		{"json", true, "spout/buckets/dt=2026-11-22/run-1.json.gz", func(t *testing.T, body []byte) {
			var got []map[string]any
			if err := json.Unmarshal(body, &got); err != nil || len(got) != 2 || got[0]["name"] != "zoë ✓" {
				t.Errorf("json: %v %v", got, err)
			}
		}},
		{"csv", false, "spout/buckets/dt=2026-11-22/run-1.csv", func(t *testing.T, body []byte) {
			recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil || len(recs) != 3 || recs[1][1] != `{"env":"prod"}` || recs[2][0] != `b,"c"` {
				t.Errorf("csv: %q %v", recs, err)
			}
		}},
		{"parquet", false, "spout/buckets/dt=2026-11-22/run-1.parquet", func(t *testing.T, body []byte) {
			r, err := file.NewParquetReader(bytes.NewReader(body))
			if err != nil || r.NumRows() != 2 || r.MetaData().Schema.NumColumns() != 3 {
				t.Errorf("parquet: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s gzip=%v", cmp.Or(tt.format, "default"), tt.gzip), func(t *testing.T) {
			s, err := New("lake", f.config(Config{Prefix: "spout", Format: tt.format, Gzip: tt.gzip}))
			if err != nil {
				t.Fatal(err)
			}
			if err := deliver(t, s, rows); err != nil {
				t.Fatal(err)
			}
			body := f.get(t, "lake", tt.key)
			if tt.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("not gzip: %v", err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			tt.check(t, body)
		})
	}
}

func checkNDJSON(t *testing.T, body []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	want := []string{`{"name":"zoë ✓","tags":{"env":"prod"},"size":1}`, `{"name":"b,\"c\"","tags":null,"size":2}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ndjson:\ngot  %q\nwant %q", got, want)
	}
}

func TestKeyTemplate(t *testing.T) {
	f := newFakeS3(t, "lake")
	s, err := New("lake", f.config(Config{Key: "{{.Sink}}/year={{.Year}}/month={{.Month}}/day={{.Day}}/hour={{.Hour}}/{{.Connection}}-{{.Query}}-{{.Time.Unix}}{{.Ext}}"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver(t, s, rows); err != nil {
		t.Fatal(err)
	}
	if got, want := f.keys(t, "lake"), "lake/year=2026/month=11/day=22/hour=06/aws-buckets-1795329000.jsonl"; len(got) != 1 || got[0] != want {
		t.Errorf("keys %q, want %q", got, want)
	}
}

// bigRows makes about n MB of rows.
func bigRows(n int) []sink.Row {
	pad := strings.Repeat("x", 1000)
	out := make([]sink.Row, n*1000)
	for i := range out {
		out[i] = sink.Row{fmt.Sprint(i, pad), nil, int64(i)}
	}
	return out
}

func TestMultipartObjectAppearsOnlyAtCommit(t *testing.T) {
	f := newFakeS3(t, "lake")
	s, err := New("lake", f.config(Config{PartSize: 5 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Open(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	big := bigRows(12)
	for i := 0; i < len(big); i += 1000 {
		if err := w.Write(ctx, big[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	// Parts are on their way (uploads run in the background, so give the first one time
	// to arrive), but there is no object yet.
	parts := func() int {
		return len(f.saw(func(r *http.Request) bool { return r.URL.Query().Has("partNumber") }))
	}
	for deadline := time.Now().Add(30 * time.Second); parts() < 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := parts(); n < 1 {
		t.Errorf("%d parts uploaded before commit; want the upload streaming", n)
	}
	if keys := f.keys(t, "lake"); len(keys) != 0 {
		t.Errorf("objects visible before commit: %v", keys)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	body := f.get(t, "lake", "buckets/dt=2026-11-22/run-1.jsonl")
	if lines := bytes.Count(body, []byte("\n")); lines != len(big) {
		t.Errorf("%d lines, want %d", lines, len(big))
	}
	if n := f.pendingUploads(t, "lake"); n != 0 {
		t.Errorf("%d multipart uploads left", n)
	}
}

func TestAbortedOrFailedUploadLeavesNothing(t *testing.T) {
	t.Run("aborted", func(t *testing.T) {
		f := newFakeS3(t, "lake")
		s, _ := New("lake", f.config(Config{PartSize: 5 << 20}))
		ctx := context.Background()
		w, err := s.Open(ctx, info)
		if err != nil {
			t.Fatal(err)
		}
		big := bigRows(11)
		for i := 0; i < len(big); i += 1000 {
			if err := w.Write(ctx, big[i:i+1000]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if len(f.saw(func(r *http.Request) bool { return r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") })) == 0 {
			t.Error("no AbortMultipartUpload request")
		}
		if keys, n := f.keys(t, "lake"), f.pendingUploads(t, "lake"); len(keys) != 0 || n != 0 {
			t.Errorf("left %v and %d multipart uploads", keys, n)
		}
	})
	t.Run("a part fails", func(t *testing.T) {
		f := newFakeS3(t, "lake")
		f.FailWhen(func(r *http.Request) bool { return r.URL.Query().Get("partNumber") == "2" })
		s, _ := New("lake", f.config(Config{PartSize: 5 << 20}))
		err := deliver(t, s, bigRows(16))
		if err == nil || !strings.Contains(err.Error(), `s3 sink "lake": upload s3://lake/buckets/dt=2026-11-22/run-1.jsonl`) {
			t.Fatalf("got %v", err)
		}
		if sink.IsPermanent(err) {
			t.Errorf("a 500 should be worth retrying: %v", err)
		}
		if keys, n := f.keys(t, "lake"), f.pendingUploads(t, "lake"); len(keys) != 0 || n != 0 {
			t.Errorf("left %v and %d multipart uploads", keys, n)
		}
	})
	t.Run("small result fails", func(t *testing.T) {
		f := newFakeS3(t, "lake")
		f.FailWhen(func(r *http.Request) bool { return r.Method == http.MethodPut })
		s, _ := New("lake", f.config(Config{}))
		if err := deliver(t, s, rows); err == nil {
			t.Fatal("no error")
		}
		if keys := f.keys(t, "lake"); len(keys) != 0 {
			t.Errorf("left %v", keys)
		}
	})
}

func TestServerSideEncryption(t *testing.T) {
	for _, tt := range []struct{ sse, key string }{{"AES256", ""}, {"aws:kms", "alias/spout"}} {
		t.Run(tt.sse, func(t *testing.T) {
			f := newFakeS3(t, "lake")
			s, err := New("lake", f.config(Config{SSE: tt.sse, KMSKeyID: tt.key}))
			if err != nil {
				t.Fatal(err)
			}
			if err := deliver(t, s, rows); err != nil {
				t.Fatal(err)
			}
			puts := f.saw(func(r *http.Request) bool { return r.Method == http.MethodPut })
			if len(puts) == 0 {
				t.Fatal("no PUT")
			}
			h := puts[0].Header
			if h.Get("X-Amz-Server-Side-Encryption") != tt.sse || h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != tt.key {
				t.Errorf("headers %v", h)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	newFakeS3(t) // for the AWS environment
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `bucket: required`},
		{Config{Bucket: "b", Format: "xml"}, `format: unknown format "xml"`},
		{Config{Bucket: "b", Format: "parquet", Gzip: true}, `gzip: not with format parquet`},
		{Config{Bucket: "b", Key: "{{.Query"}, `key: bad template`},
		{Config{Bucket: "b", Key: "{{.Date}}/{{.Nope}}"}, `key: key template:`},
		{Config{Bucket: "b", Key: "a//{{.Query}}"}, `key: key template gives "a//q": want a clean path`},
		{Config{Bucket: "b", SSE: "kms"}, `sse: unknown server-side encryption "kms"`},
		{Config{Bucket: "b", KMSKeyID: "k"}, `kms_key_id: only used with sse: aws:kms`},
		{Config{Bucket: "b", PartSize: 1 << 20}, `part_size: 1048576 bytes is below S3's minimum`},
		{Config{Bucket: "b", Endpoint: "localhost:9000"}, `endpoint: "localhost:9000" is not an http(s) URL`},
	}
	for _, tt := range tests {
		if _, err := New("lake", tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v:\ngot  %v\nwant %s", tt.cfg, err, tt.want)
		}
	}

	t.Run("unreachable endpoint", func(t *testing.T) {
		s, err := New("lake", Config{Bucket: "b", Endpoint: "http://127.0.0.1:1", PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		err = deliver(t, s, rows)
		if err == nil || !strings.Contains(err.Error(), `s3 sink "lake": upload s3://b/`) || sink.IsPermanent(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no such bucket", func(t *testing.T) {
		f := newFakeS3(t)
		s, _ := New("lake", f.config(Config{Bucket: "missing"}))
		if err := deliver(t, s, rows); err == nil || !sink.IsPermanent(err) {
			t.Fatalf("got %v, want a permanent error", err)
		}
	})
}

// A result that cannot be delivered ends up, whole, under an S3 dead-letter prefix.
func TestDeadLetterToS3(t *testing.T) {
	f := newFakeS3(t, "dlq")
	doc := fmt.Sprintf(`
type: s3
bucket: missing
endpoint: %s
path_style: true
retry: {attempts: 2, backoff: 1ms}
dead_letter: s3://dlq/dead/?endpoint=%s&path_style=true
`, f.url, f.url)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &node); err != nil {
		t.Fatal(err)
	}
	s, err := sink.Build("lake", &node, sink.Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = deliver(t, s, rows)
	var de *sink.DeliveryError
	if !errors.As(err, &de) || de.DeadLetter != "s3://dlq/dead/buckets/run-1-lake-aws.ndjson" {
		t.Fatalf("got %v", err)
	}
	body := f.get(t, "dlq", "dead/buckets/run-1-lake-aws.ndjson")
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"error":"s3 sink \"lake\": upload s3://missing/`) || lines[1] != `{"name":"zoë ✓","tags":{"env":"prod"},"size":1}` {
		t.Errorf("dead letter:\n%s", body)
	}
}

func TestShardedResultsCarryTheShard(t *testing.T) {
	f := newFakeS3(t, "lake")
	s, err := New("lake", f.config(Config{Prefix: "spout"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		in := info
		in.Shard = sink.Shard{Index: i, Count: 2}
		w, err := s.Open(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows[i-1:i]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"spout/buckets/dt=2026-11-22/run-1-shard-1-of-2.jsonl", "spout/buckets/dt=2026-11-22/run-1-shard-2-of-2.jsonl"}
	if got := f.keys(t, "lake"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %q, want %q", got, want)
	}
	for i, key := range want {
		if body := string(f.get(t, "lake", key)); strings.Count(body, "\n") != 1 || !strings.Contains(body, rows[i][0].(string)[:1]) {
			t.Errorf("%s holds %q, want only shard %d's row", key, body, i+1)
		}
	}
	for _, r := range f.saw(func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploads") }) {
		if r.Header.Get("X-Amz-Meta-Spout-Shard") == "" {
			t.Errorf("upload of %s lacks the spout-shard metadata", r.URL.Path)
		}
	}

	// A key that does not name the shard would have the shards overwrite each other.
	fixed, err := New("fixed", f.config(Config{Key: "{{.Query}}/latest{{.Ext}}"}))
	if err != nil {
		t.Fatal(err)
	}
	in := info
	in.Shard = sink.Shard{Index: 1, Count: 2}
	if _, err := fixed.Open(ctx, in); err == nil || !sink.IsPermanent(err) || !strings.Contains(err.Error(), "does not use {{.Shard}}") {
		t.Errorf("sharded result to a key without .Shard: %v", err)
	}
	if err := deliver(t, fixed, rows); err != nil {
		t.Errorf("an unsharded result to the same key: %v", err)
	}
}
