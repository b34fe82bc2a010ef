package emf

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// The record has the specification's shape: _aws.Timestamp in epoch milliseconds,
// CloudWatchMetrics[] with Namespace, Dimensions as a list of dimension-name lists that
// resolve to string members, and Metrics whose names resolve to number members.
func TestRecordShape(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf, "Spout")
	w.now = func() time.Time { return time.UnixMilli(1764720000123) }
	err := w.Write(map[string]string{"Schedule": "hourly", "Query": "public_buckets"},
		[]Metric{{"Rows", Count, 42}, {"QueryDuration", Seconds, 1.5}},
		map[string]any{"run_id": "r1"})
	if err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("want exactly one line, got %q", line)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Timestamp         *int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	if err := json.Unmarshal(rec["_aws"], &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Timestamp == nil || *meta.Timestamp != 1764720000123 {
		t.Errorf("Timestamp = %v, want epoch milliseconds 1764720000123", meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) != 1 {
		t.Fatalf("CloudWatchMetrics = %d directives, want 1", len(meta.CloudWatchMetrics))
	}
	d := meta.CloudWatchMetrics[0]
	if d.Namespace != "Spout" {
		t.Errorf("Namespace = %q", d.Namespace)
	}
	if len(d.Dimensions) != 1 || strings.Join(d.Dimensions[0], ",") != "Query,Schedule" {
		t.Errorf("Dimensions = %v, want [[Query Schedule]]", d.Dimensions)
	}
	for _, dim := range d.Dimensions[0] {
		var s string
		if err := json.Unmarshal(rec[dim], &s); err != nil {
			t.Errorf("dimension %s does not resolve to a string member: %s", dim, rec[dim])
		}
	}
	want := map[string]string{"Rows": "Count", "QueryDuration": "Seconds"}
	for _, m := range d.Metrics {
		if want[m.Name] != m.Unit {
			t.Errorf("metric %s unit %q, want %q", m.Name, m.Unit, want[m.Name])
		}
		var v float64
		if err := json.Unmarshal(rec[m.Name], &v); err != nil {
			t.Errorf("metric %s does not resolve to a number: %s", m.Name, rec[m.Name])
		}
		delete(want, m.Name)
	}
	if len(want) > 0 {
		t.Errorf("metrics missing from the directive: %v", want)
	}
	if string(rec["run_id"]) != `"r1"` {
		t.Errorf("property run_id = %s", rec["run_id"])
	}
}

func TestRefusesAmbiguousAndOversizedRecords(t *testing.T) {
	w := New(&bytes.Buffer{}, "Spout")
	cases := map[string]func() error{
		"metric named like a dimension": func() error {
			return w.Write(map[string]string{"Rows": "x"}, []Metric{{"Rows", Count, 1}}, nil)
		},
		"property named like a metric": func() error {
			return w.Write(nil, []Metric{{"Rows", Count, 1}}, map[string]any{"Rows": 2})
		},
		"no metrics": func() error { return w.Write(nil, nil, nil) },
		"101 metrics": func() error {
			ms := make([]Metric, 101)
			for i := range ms {
				ms[i] = Metric{Name: strings.Repeat("m", i+1), Unit: Count}
			}
			return w.Write(nil, ms, nil)
		},
		"_aws as a name": func() error { return w.Write(nil, []Metric{{"_aws", Count, 1}}, nil) },
	}
	for name, write := range cases {
		if err := write(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := New(&bytes.Buffer{}, "").Write(nil, []Metric{{"Rows", Count, 1}}, nil); err == nil {
		t.Error("a record without namespace was accepted")
	}
}

// Concurrent writers never interleave inside a line.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf, "Spout")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Write(map[string]string{"Query": strings.Repeat("q", i+1)}, []Metric{{"Rows", Count, float64(i)}}, nil)
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("line is not one JSON record: %q", l)
		}
	}
}
