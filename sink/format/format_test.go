package format

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/spoutdev/spout/sink"
)

var (
	cols = []sink.Column{
		{Name: "name", Type: sink.TypeText},
		{Name: "tags", Type: sink.TypeJSONB},
		{Name: "created", Type: sink.TypeTimestamptz},
		{Name: "size", Type: sink.TypeBigint},
		{Name: "ratio", Type: sink.TypeDouble},
		{Name: "public", Type: sink.TypeBoolean},
	}
	when = time.Date(2026, 11, 22, 6, 30, 15, 123456000, time.UTC)
	rows = []sink.Row{
		{"bucket-1", json.RawMessage(`{"env":"prod","owner":"zoë"}`), when, int64(42), 0.5, true},
		{"comma, \"quote\"\nnewline ✓ 日本", json.RawMessage(`[1,2]`), when.Add(time.Hour), int64(-1), 1e300, false},
		{nil, nil, nil, nil, nil, nil},
	}
)

// encode writes rows in two batches, to check that encoders carry state across calls.
func encode(t *testing.T, name string, rows []sink.Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := New(name, &buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	half := len(rows) / 2
	if err := enc.Encode(rows[:half]); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(rows[half:]); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantObjects() []map[string]any {
	return []map[string]any{
		{"name": "bucket-1", "tags": map[string]any{"env": "prod", "owner": "zoë"}, "created": "2026-11-22T06:30:15.123456Z", "size": 42.0, "ratio": 0.5, "public": true},
		{"name": "comma, \"quote\"\nnewline ✓ 日本", "tags": []any{1.0, 2.0}, "created": "2026-11-22T07:30:15.123456Z", "size": -1.0, "ratio": 1e300, "public": false},
		{"name": nil, "tags": nil, "created": nil, "size": nil, "ratio": nil, "public": nil},
	}
}

func TestJSON(t *testing.T) {
	var got []map[string]any
	if err := json.Unmarshal(encode(t, JSON, rows), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantObjects()) {
		t.Errorf("got  %v\nwant %v", got, wantObjects())
	}
	if out := string(encode(t, JSON, nil)); out != "[]\n" {
		t.Errorf("empty result: %q", out)
	}
}

func TestNDJSON(t *testing.T) {
	for _, name := range []string{NDJSON, JSONL} {
		out := encode(t, name, rows)
		sc := bufio.NewScanner(bytes.NewReader(out))
		var got []map[string]any
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, m)
		}
		if !reflect.DeepEqual(got, wantObjects()) {
			t.Errorf("%s: got  %v\nwant %v", name, got, wantObjects())
		}
		// Column order is kept.
		if !strings.HasPrefix(string(out), `{"name":"bucket-1","tags":{`) {
			t.Errorf("first line %q", out[:40])
		}
	}
}

func TestCSV(t *testing.T) {
	out := encode(t, CSV, rows)
	if !bytes.HasPrefix(out, []byte("name,tags,created,size,ratio,public\r\n")) {
		t.Errorf("header line %q: want CRLF line ends (RFC 4180)", out[:40])
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"name", "tags", "created", "size", "ratio", "public"},
		{"bucket-1", `{"env":"prod","owner":"zoë"}`, "2026-11-22T06:30:15.123456Z", "42", "0.5", "true"},
		{"comma, \"quote\"\nnewline ✓ 日本", "[1,2]", "2026-11-22T07:30:15.123456Z", "-1", "1e+300", "false"},
		{"", "", "", "", "", ""},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("got  %q\nwant %q", recs, want)
	}
}

func TestParquet(t *testing.T) {
	out := encode(t, Parquet, rows)
	rdr, err := file.NewParquetReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	// The parquet schema carries the logical types.
	sc := rdr.MetaData().Schema
	for i, want := range []string{"String", "JSON", "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)", "Int(bitWidth=64, isSigned=true)", "None", "None"} {
		if got := sc.Column(i).LogicalType().String(); got != want {
			t.Errorf("column %s logical type %s, want %s", cols[i].Name, got, want)
		}
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 3 {
		t.Fatalf("%d rows", tbl.NumRows())
	}
	col := func(i int) arrow.Array { return tbl.Column(i).Data().Chunk(0) }
	names := col(0).(*array.String)
	if names.Value(0) != "bucket-1" || names.Value(1) != rows[1][0] || !names.IsNull(2) {
		t.Errorf("names %v", names)
	}
	// Readers without the arrow.json extension see the JSON column as bytes.
	tags := col(1)
	if ext, ok := tags.(array.ExtensionArray); ok {
		tags = ext.Storage()
	}
	if s := string(tags.(*array.Binary).Value(0)); s != `{"env":"prod","owner":"zoë"}` {
		t.Errorf("tags %s", s)
	}
	ts := col(2).(*array.Timestamp)
	if got := ts.Value(0).ToTime(arrow.Microsecond); !got.Equal(when) || !ts.IsNull(2) {
		t.Errorf("created %v", got)
	}
	if v := col(3).(*array.Int64).Value(1); v != -1 {
		t.Errorf("size %d", v)
	}
	if v := col(4).(*array.Float64).Value(1); v != 1e300 {
		t.Errorf("ratio %g", v)
	}
	if b := col(5).(*array.Boolean); !b.Value(0) || b.Value(1) || !b.IsNull(2) {
		t.Errorf("public %v", b)
	}
}

func TestParquetManyRowGroups(t *testing.T) {
	var buf bytes.Buffer
	enc, err := New(Parquet, &buf, []sink.Column{{Name: "n", Type: sink.TypeBigint}})
	if err != nil {
		t.Fatal(err)
	}
	n := parquetRowGroup*2 + 10
	batch := make([]sink.Row, 0, 1000)
	for i := range n {
		batch = append(batch, sink.Row{int64(i)})
		if len(batch) == cap(batch) || i == n-1 {
			if err := enc.Encode(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rdr.NumRows() != int64(n) || rdr.NumRowGroups() != 3 {
		t.Errorf("%d rows in %d row groups", rdr.NumRows(), rdr.NumRowGroups())
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New("xml", &bytes.Buffer{}, cols); err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := New(Parquet, &bytes.Buffer{}, []sink.Column{{Name: "x", Type: "money"}}); err == nil {
		t.Error("parquet with an unknown column type: no error")
	}
	enc, _ := New(Parquet, &bytes.Buffer{}, []sink.Column{{Name: "n", Type: sink.TypeBigint}})
	if err := enc.Encode([]sink.Row{{"not a number"}}); err == nil || !strings.Contains(err.Error(), `column "n"`) {
		t.Errorf("bad value: %v", err)
	}
}

func TestOutput(t *testing.T) {
	tests := []struct {
		in               Output
		ext, contentType string
		badField         string // the option Check blames, if any
	}{
		{in: Output{}, ext: ".jsonl", contentType: "application/x-ndjson"},
		{in: Output{Format: CSV, Gzip: true}, ext: ".csv.gz", contentType: "application/gzip"},
		{in: Output{Format: Parquet}, ext: ".parquet", contentType: "application/vnd.apache.parquet"},
		{in: Output{Format: "xml"}, badField: "format"},
		{in: Output{Format: Parquet, Gzip: true}, badField: "gzip"},
	}
	for _, tt := range tests {
		o, err := tt.in.Check()
		var fe *sink.FieldError
		if tt.badField != "" {
			if !errors.As(err, &fe) || fe.Field != tt.badField {
				t.Errorf("%+v: got %v, want a FieldError for %s", tt.in, err, tt.badField)
			}
			continue
		}
		if err != nil || o.Ext() != tt.ext || o.ContentType() != tt.contentType {
			t.Errorf("%+v: got %q %q %v, want %q %q", tt.in, o.Ext(), o.ContentType(), err, tt.ext, tt.contentType)
		}
	}

	// Close ends the gzip stream: the whole output can be read back.
	var buf bytes.Buffer
	enc, err := Output{Format: NDJSON, Gzip: true}.NewEncoder(&buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(rows); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := encode(t, NDJSON, rows); !bytes.Equal(got, want) {
		t.Errorf("gunzipped:\n%s\nwant\n%s", got, want)
	}
}
