package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/sink"
)

var info = sink.ResultInfo{
	Query: "buckets", RunID: "run-1", Connection: "aws",
	CollectedAt: time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC),
	Columns:     []sink.Column{{Name: "name", Type: sink.TypeText}, {Name: "tags", Type: sink.TypeJSONB}},
}

func rows(prefix string, n int) []sink.Row {
	out := make([]sink.Row, n)
	for i := range out {
		out[i] = sink.Row{prefix + "-" + strings.Repeat("x", i%3), json.RawMessage(`{"i":1}`)}
	}
	return out
}

func TestFileAppearsAtCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := New("out", Config{Path: filepath.Join(dir, "{{.Date}}", "{{.Query}}-{{.RunID}}{{.Ext}}"), Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Open(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows("a", 2)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "2026-11-22", "buckets-run-1.jsonl.gz")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file visible before commit: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr) // fails if the gzip stream was not ended
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"name\":\"a-\",\"tags\":{\"i\":1}}\n{\"name\":\"a-x\",\"tags\":{\"i\":1}}\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "2026-11-22", ".spout-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := New("out", Config{Path: filepath.Join(dir, "r.csv"), Format: "csv"})
	ctx := context.Background()
	w, _ := s.Open(ctx, info)
	w.Write(ctx, rows("a", 2))
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

func TestStdoutResultsDoNotInterleave(t *testing.T) {
	s, err := New("console", Config{Path: "-", Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s.stdout = sink.NewSharedWriter(&out)
	ctx := context.Background()
	a, _ := s.Open(ctx, info)
	b, _ := s.Open(ctx, info)
	for range 3 {
		a.Write(ctx, rows("a", 1))
		b.Write(ctx, rows("b", 1))
	}
	if out.Len() != 0 {
		t.Fatalf("output before commit: %q", out.String())
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := "name,tags\r\nb-,\"{\"\"i\"\":1}\"\r\nb-,\"{\"\"i\"\":1}\"\r\nb-,\"{\"\"i\"\":1}\"\r\n" +
		"name,tags\r\na-,\"{\"\"i\"\":1}\"\r\na-,\"{\"\"i\"\":1}\"\r\na-,\"{\"\"i\"\":1}\"\r\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

func TestBadInput(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, nil, 0o644)
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `path: required`},
		{Config{Path: "-", Format: "xml"}, `format: unknown format "xml"`},
		{Config{Path: "-", Format: "parquet", Gzip: true}, `gzip: not with format parquet`},
		{Config{Path: "{{.Query"}, `path: bad template`},
		{Config{Path: "{{.Bogus}}"}, `path: path template:`},
	}
	for _, tt := range tests {
		if _, err := New("out", tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v:\ngot  %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
	s, err := New("out", Config{Path: filepath.Join(notADir, "x.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), info); err == nil || !strings.Contains(err.Error(), `file sink "out": mkdir`) || !sink.IsPermanent(err) {
		t.Errorf("unwritable path: %v", err)
	}

	var node yaml.Node
	yaml.Unmarshal([]byte("type: file\npath: out.txt\nformat: txt\n"), &node)
	if _, err := sink.Build("out", &node, sink.Env{}); err == nil || !strings.HasPrefix(err.Error(), `line 3:1: sink "out": format: unknown format "txt"`) {
		t.Errorf("from YAML: %v", err)
	}
}
