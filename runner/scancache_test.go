package runner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/runner"
)

// scanCacheRun is a run whose queries share scans: q1..q3 scan t1.test_types, q3 with
// another qual, q2 for more columns than q1, which runs first; q4 and q5 scan the aggregator, whose member bad fails. One query at a
// time, so which query serves which is certain.
const scanCacheRun = `
connections:
  t1: {plugin: test}
  t2: {plugin: test, config: "rows = 4"}
  bad: {plugin: test, config: "fail = true"}
  every: {plugin: test, type: aggregator, connections: [t2, bad]}
sinks:
  files: {type: file, path: "%s/{{.Query}}.jsonl"}
run:
  concurrency: 1
  memory_limit: 64MB
%s
queries:
  - {name: q1, sinks: [files], sql: "select name from t1.test_types where score > 3"}
  - {name: q2, sinks: [files], sql: "select id, name, score from t1.test_types"}
  - {name: q3, sinks: [files], sql: "select id from t1.test_types where active"}
  - {name: q4, sinks: [files], sql: "select sp_connection_name, id from every.test_types"}
  - {name: q5, sinks: [files], sql: "select count(*) from every.test_types"}
`

// The manifest counts, per query and per run, the connection scans that called the
// plugin and those the run's scan cache served; the plugin saw exactly the former.
func TestManifestCountsCachedScans(t *testing.T) {
	tests := []struct {
		name, extra string
		api, cached []int // per query
	}{
		{"scan cache on (the default)", "", []int{1, 0, 1, 2, 1}, []int{0, 1, 0, 0, 1}},
		{"scan_cache: false", "  scan_cache: false", []int{1, 1, 1, 2, 2}, []int{0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := parse(t, dir, fmt.Sprintf(scanCacheRun, dir, tc.extra), nil)
			testplugin.Calls.Reset()
			m, _ := runLog(t, cfg, runner.Options{})
			if m.ExitCode != runner.ExitFailed || len(m.Queries) != 5 {
				t.Fatalf("exit %d, %d queries, errors %v; want exit %d (bad failed) and 5 queries", m.ExitCode, len(m.Queries), m.Errors, runner.ExitFailed)
			}
			wantAPI, wantCached := 0, 0
			for i, q := range m.Queries {
				if q.APIScans != tc.api[i] || q.CachedScans != tc.cached[i] {
					t.Errorf("%s: %d api scans and %d cached, want %d and %d", q.Name, q.APIScans, q.CachedScans, tc.api[i], tc.cached[i])
				}
				wantAPI += tc.api[i]
				wantCached += tc.cached[i]
			}
			if m.APIScans != wantAPI || m.CachedScans != wantCached {
				t.Errorf("run: %d api scans and %d cached, want %d and %d", m.APIScans, m.CachedScans, wantAPI, wantCached)
			}
			if calls := len(testplugin.Calls.ForTable("test_types")); calls != m.APIScans {
				t.Errorf("the plugin got %d calls, the manifest says %d", calls, m.APIScans)
			}
			// Served or not, the queries give the same rows, and bad's failure is reported
			// for both queries over the aggregator.
			rows := map[string]int64{}
			for _, q := range m.Queries {
				rows[q.Name] = q.Rows
			}
			if want := map[string]int64{"q1": 8, "q2": 10, "q3": 5, "q4": 4, "q5": 1}; fmt.Sprint(rows) != fmt.Sprint(want) {
				t.Errorf("rows %v, want %v", rows, want)
			}
			for _, q := range m.Queries[3:] {
				if q.Status != runner.StatusPartial || !strings.Contains(q.Connections["bad"].Error, "configured to fail") || q.Connections["t2"].RowsFetched != 4 {
					t.Errorf("%s: status %s, connections %+v; want partial with bad's error", q.Name, q.Status, q.Connections)
				}
			}
		})
	}
}
