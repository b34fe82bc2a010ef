package runner_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/spoutdev/spout/runner"
)

// emfRecord checks rec against the Embedded Metric Format specification's shape and
// returns its dimension set and metric values. It fails the test on any deviation that
// would make CloudWatch drop the record.
func emfRecord(t *testing.T, rec map[string]any, namespace string) ([]string, map[string]float64) {
	t.Helper()
	aws, ok := rec["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %v", rec)
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || time.Since(time.UnixMilli(int64(ts))) > time.Minute {
		t.Errorf("Timestamp %v is not epoch milliseconds of now", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) != 1 {
		t.Fatalf("CloudWatchMetrics = %v, want one directive", aws["CloudWatchMetrics"])
	}
	d := directives[0].(map[string]any)
	if d["Namespace"] != namespace {
		t.Errorf("Namespace = %v, want %s", d["Namespace"], namespace)
	}
	sets := d["Dimensions"].([]any)
	if len(sets) != 1 {
		t.Fatalf("Dimensions = %v, want one set", sets)
	}
	var dims []string
	for _, name := range sets[0].([]any) {
		// Every dimension must be a top-level string member.
		if _, ok := rec[name.(string)].(string); !ok {
			t.Errorf("dimension %v has no string member: %v", name, rec)
		}
		dims = append(dims, name.(string))
	}
	values := map[string]float64{}
	for _, m := range d["Metrics"].([]any) {
		def := m.(map[string]any)
		name := def["Name"].(string)
		v, ok := rec[name].(float64)
		if !ok {
			t.Errorf("metric %s has no numeric member: %v", name, rec)
		}
		switch def["Unit"] {
		case "Count", "Seconds":
		default:
			t.Errorf("metric %s has unit %v", name, def["Unit"])
		}
		values[name] = v
	}
	return dims, values
}

func TestRunWritesEMFMetricsBeforeTheManifest(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
schedules:
  hourly: rate(1 hour)
sinks:
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: broken, schedule: hourly, sinks: [files], sql: select * from test_error}
  - {name: fine, schedule: hourly, sinks: [files], sql: select id from test_types}
`, nil)
	var buf bytes.Buffer
	out := &syncWriter{w: &buf}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := runner.Run(ctx, cfg, runner.Options{
		Plugins:  testPlugins,
		Logger:   slog.New(slog.NewJSONHandler(out, nil)),
		Schedule: "hourly",
		Metrics:  &runner.MetricsOptions{Out: out, Namespace: "Spout/Test"},
	})
	if m.ExitCode != runner.ExitFailed {
		t.Fatalf("exit %d, want 1", m.ExitCode)
	}
	recs := records(t, buf.Bytes())
	if last := recs[len(recs)-1]; last["msg"] != "run manifest" {
		t.Fatalf("the manifest is not the last line: %v", last)
	}
	perQuery := map[string]map[string]float64{}
	var run map[string]float64
	for _, rec := range recs {
		if _, ok := rec["_aws"]; !ok {
			continue
		}
		dims, values := emfRecord(t, rec, "Spout/Test")
		if rec["Schedule"] != "hourly" || rec["run_id"] != m.RunID {
			t.Errorf("record not of this run's schedule: %v", rec)
		}
		switch {
		case slices.Equal(dims, []string{"Schedule"}):
			run = values
		case slices.Equal(dims, []string{"Query", "Schedule"}):
			perQuery[rec["Query"].(string)] = values
		default:
			t.Errorf("unexpected dimension set %v", dims)
		}
	}
	if run == nil || run["RunSucceeded"] != 0 || run["QueriesFailed"] != 1 || run["RunDuration"] <= 0 {
		t.Errorf("run metrics = %v, want RunSucceeded 0, QueriesFailed 1, a duration", run)
	}
	if q := perQuery["fine"]; q["Rows"] != 10 || q["QueryFailed"] != 0 || q["ConnectionErrors"] != 0 {
		t.Errorf("fine's metrics = %v", q)
	}
	if q := perQuery["broken"]; q["Rows"] != 0 || q["QueryFailed"] != 1 || q["ConnectionErrors"] != 1 {
		t.Errorf("broken's metrics = %v", q)
	}
}

func TestInvalidRunStillReportsItsMetrics(t *testing.T) {
	var buf bytes.Buffer
	out := &syncWriter{w: &buf}
	m := runner.ReportInvalid(context.Background(), "spout.yaml", errors.New("bad"), runner.Options{
		Logger:  slog.New(slog.NewJSONHandler(out, nil)),
		Metrics: &runner.MetricsOptions{Out: out, Namespace: "Spout"},
	})
	recs := records(t, buf.Bytes())
	if m.ExitCode != runner.ExitInvalid || recs[len(recs)-1]["msg"] != "run manifest" {
		t.Fatalf("exit %d, last line %v", m.ExitCode, recs[len(recs)-1])
	}
	var found bool
	for _, rec := range recs {
		if _, ok := rec["_aws"]; ok {
			_, values := emfRecord(t, rec, "Spout")
			// A run of no schedule group still has a Schedule dimension: CloudWatch
			// refuses an empty one.
			found = rec["Schedule"] == runner.AllSchedules && values["RunSucceeded"] == 0
		}
	}
	if !found {
		t.Errorf("no RunSucceeded=0 record for the invalid run: %s", buf.String())
	}
}
