package runner_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
)

var testPlugins = map[string]query.PluginFunc{"test": testplugin.Plugin}

// hook is a webhook receiver that keeps every request body.
type hook struct {
	srv    *httptest.Server
	status int
	mu     sync.Mutex
	bodies []map[string]any
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("webhook body is not JSON: %q", b)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.mu.Unlock()
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// parse writes text to dir/spout.yaml and parses it with env.
func parse(t *testing.T, dir, text string, env map[string]string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

// runLog runs cfg and returns the manifest and the log records.
func runLog(t *testing.T, cfg *config.Config, o runner.Options) (*runner.Manifest, []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	o.Plugins = testPlugins
	o.Logger = slog.New(slog.NewJSONHandler(&syncWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := runner.Run(ctx, cfg, o)
	return m, records(t, buf.Bytes())
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func records(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

func byMsg(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return records(t, b)
}

func TestRunDeliversEveryResultAndLogsTheManifest(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, http.StatusOK)
	cfg := parse(t, dir, `
connections:
  test:
    plugin: test
    config: rows = 12
sinks:
  files:
    type: file
    path: "`+dir+`/out/{{.Query}}.jsonl"
  hook:
    type: webhook
    url: ${HOOK_URL}
queries:
  - name: evens
    sinks: [files, hook]
    sql: |
      select id, name, score, active, created_at, tags, tags ->> 'environment' as env
      from test_types where id % 2 = 0 order by id
  - name: counts
    sinks: [files]
    sql: select count(*) as n, sum(id)::numeric as total, array_agg(id order by id) as ids from test_types
run:
  manifest_sinks: [files]
`, map[string]string{"HOOK_URL": h.srv.URL})
	m, recs := runLog(t, cfg, runner.Options{})
	if m.ExitCode != 0 || m.Status != runner.StatusOK {
		t.Fatalf("exit %d status %s: %+v", m.ExitCode, m.Status, m)
	}

	evens := readLines(t, filepath.Join(dir, "out", "evens.jsonl"))
	if len(evens) != 6 {
		t.Fatalf("evens.jsonl has %d rows, want 6", len(evens))
	}
	first := evens[0]
	if first["id"] != 2.0 || first["name"] != "item-2" || first["score"] != 3.0 || first["active"] != true ||
		first["created_at"] != "2026-01-03T00:00:00Z" || first["env"] != "prod" {
		t.Errorf("first row = %v", first)
	}
	if tags, ok := first["tags"].(map[string]any); !ok || tags["environment"] != "prod" || tags["department"] != "eng" {
		t.Errorf("tags travel as JSON: %#v", first["tags"])
	}
	counts := readLines(t, filepath.Join(dir, "out", "counts.jsonl"))
	if len(counts) != 1 || counts[0]["n"] != 12.0 || counts[0]["total"] != 78.0 || len(counts[0]["ids"].([]any)) != 12 {
		t.Errorf("counts = %v (numeric as double, array as JSON)", counts)
	}

	bodies := h.received()
	if len(bodies) != 1 || bodies[0]["query"] != "evens" || bodies[0]["final"] != true || len(bodies[0]["rows"].([]any)) != 6 ||
		bodies[0]["run_id"] != m.RunID || bodies[0]["connection"] != "test" {
		t.Errorf("webhook bodies = %v", bodies)
	}

	// The manifest, as returned, as logged last, and as delivered.
	if len(m.Queries) != 2 || m.Queries[0].Name != "evens" || m.Queries[0].Rows != 6 || m.Queries[1].Rows != 1 {
		t.Fatalf("manifest queries = %+v", m.Queries)
	}
	if c := m.Queries[0].Connections["test"]; c.RowsFetched != 12 || c.Error != "" {
		t.Errorf("evens fetched %+v from test, want the 12 rows before filtering", c)
	}
	if got := m.Queries[0].Sinks; len(got) != 2 || got[0] != (runner.SinkResult{Name: "files", Status: runner.Delivered, Rows: 6}) ||
		got[1] != (runner.SinkResult{Name: "hook", Status: runner.Delivered, Rows: 6}) {
		t.Errorf("evens sinks = %+v", got)
	}
	if len(m.Sinks) != 2 || m.Sinks[0] != (runner.SinkSummary{Name: "files", Delivered: 2, Rows: 7}) {
		t.Errorf("sink summary = %+v", m.Sinks)
	}
	last := recs[len(recs)-1]
	if last["msg"] != "run manifest" || last["run_id"] != m.RunID {
		t.Fatalf("last log line = %v, want the manifest", last)
	}
	logged := last["manifest"].(map[string]any)
	if logged["status"] != "ok" || logged["exit_code"] != 0.0 || len(logged["queries"].([]any)) != 2 {
		t.Errorf("logged manifest = %v", logged)
	}
	manifestRows := readLines(t, filepath.Join(dir, "out", "spout_manifest.jsonl"))
	if len(manifestRows) != 2 || manifestRows[0]["query"] != "evens" || manifestRows[0]["rows"] != 6.0 || manifestRows[0]["status"] != "ok" ||
		manifestRows[0]["run_id"] != m.RunID {
		t.Errorf("delivered manifest = %v", manifestRows)
	}
	if len(m.ManifestSinks) != 1 || m.ManifestSinks[0].Status != runner.Delivered || m.ManifestSinks[0].Rows != 2 {
		t.Errorf("manifest sinks = %+v", m.ManifestSinks)
	}

	// One start and one end event per query, with rows and connections.
	started, finished := byMsg(recs, "query started"), byMsg(recs, "query finished")
	if len(started) != 2 || len(finished) != 2 {
		t.Fatalf("%d start and %d end events, want 2 each", len(started), len(finished))
	}
	for _, f := range finished {
		if f["query"] == "evens" && (f["rows"] != 6.0 || f["connections"].(map[string]any)["test"] != 12.0 || f["duration_ms"] == nil) {
			t.Errorf("query finished event = %v", f)
		}
	}
}

func TestAFailingQueryDoesNotStopTheOthers(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
sinks:
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: broken, sinks: [files], sql: select * from test_error}
  - {name: fine, sinks: [files], sql: select id from test_types}
`, nil)
	m, recs := runLog(t, cfg, runner.Options{})
	if m.ExitCode != runner.ExitFailed || m.Status != runner.StatusFailed {
		t.Fatalf("exit %d, status %s; want 1, failed", m.ExitCode, m.Status)
	}
	broken, fine := m.Queries[0], m.Queries[1]
	if broken.Status != runner.StatusFailed || !strings.Contains(broken.Error, "simulated API failure") ||
		broken.Sinks[0].Status != runner.NotDelivered {
		t.Errorf("broken = %+v", broken)
	}
	if _, err := os.Stat(filepath.Join(dir, "broken.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a failed query's result was written: %v", err)
	}
	if fine.Status != runner.StatusOK || fine.Rows != 10 || len(readLines(t, filepath.Join(dir, "fine.jsonl"))) != 10 {
		t.Errorf("fine = %+v", fine)
	}
	if failed := byMsg(recs, "query failed"); len(failed) != 1 || failed[0]["query"] != "broken" || !strings.Contains(failed[0]["error"].(string), "simulated") {
		t.Errorf("query failed events = %v", failed)
	}
}

func TestTimeoutAndHeartbeat(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
connections:
  test: {plugin: test, config: 'delay = "20ms"'}
sinks:
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - name: slow
    sinks: [files]
    timeout: 700ms
    sql: select id, page from test_slow
run:
  heartbeat: 100ms
`, nil)
	start := time.Now()
	m, recs := runLog(t, cfg, runner.Options{})
	if time.Since(start) > 10*time.Second {
		t.Errorf("run took %s: the timeout did not stop the query", time.Since(start))
	}
	q := m.Queries[0]
	if q.Status != runner.StatusFailed || q.Error != "query slow timed out after 700ms" || m.ExitCode != 1 {
		t.Fatalf("slow = %+v, exit %d", q, m.ExitCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "slow.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a timed-out result was written: %v", err)
	}
	var beats []map[string]any
	for _, b := range byMsg(recs, "heartbeat") {
		// A tick can land between the query's end and the heartbeat's stop.
		if len(b["running"].([]any)) > 0 {
			beats = append(beats, b)
		}
	}
	if len(beats) < 3 {
		t.Fatalf("%d heartbeats in 700ms at 100ms, want at least 3", len(beats))
	}
	var grew bool
	var prev, fetched float64
	for _, b := range beats {
		running := b["running"].([]any)
		if len(running) != 1 || running[0].(map[string]any)["query"] != "slow" || b["queries_total"] != 1.0 {
			t.Fatalf("heartbeat = %v", b)
		}
		rows := running[0].(map[string]any)["rows"].(float64)
		if rows > prev && prev > 0 {
			grew = true
		}
		prev = rows
		if f := b["rows_fetched"].(float64); f > fetched {
			fetched = f
		}
	}
	if !grew {
		t.Errorf("rows so far never grew across heartbeats: %v", beats)
	}
	// The engine's view: rows the plugin returned so far, while the scan is open.
	if fetched == 0 {
		t.Errorf("no heartbeat saw rows fetched from the plugin: %v", beats)
	}
}

func TestDeliveryFailureIsDeadLettered(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, http.StatusBadRequest) // final: not retried
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
sinks:
  hook:
    type: webhook
    url: `+h.srv.URL+`
    retry: {attempts: 1}
    dead_letter: `+dir+`/dead
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: q, sinks: [hook, files], sql: select id from test_types}
`, nil)
	m, _ := runLog(t, cfg, runner.Options{})
	sinks := m.Queries[0].Sinks
	if m.ExitCode != 1 || m.Queries[0].Status != runner.StatusOK {
		t.Fatalf("exit %d, query %+v", m.ExitCode, m.Queries[0])
	}
	if sinks[0].Status != runner.DeadLettered || !strings.HasPrefix(sinks[0].DeadLetter, filepath.Join(dir, "dead")) || !strings.Contains(sinks[0].Error, "400") {
		t.Errorf("hook = %+v", sinks[0])
	}
	if sinks[1].Status != runner.Delivered || sinks[1].Rows != 10 {
		t.Errorf("files = %+v: the other sink must still get the result", sinks[1])
	}
	if lines := readLines(t, sinks[0].DeadLetter); len(lines) != 11 {
		t.Errorf("dead letter has %d lines, want a header and 10 rows", len(lines))
	}
	if m.Sinks[0] != (runner.SinkSummary{Name: "hook", DeadLettered: 1}) {
		t.Errorf("summary = %+v", m.Sinks)
	}
}

// A sink whose Write fails is aborted and dropped from the result's fan-out at once; the
// other sinks still get the result.
func TestWriteFailureDropsOnlyThatSink(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, http.StatusBadRequest) // final: not retried
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
sinks:
  hook:
    type: webhook
    url: `+h.srv.URL+`
    batch: {rows: 2}
    retry: {attempts: 1}
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: q, sinks: [hook, files], sql: select id from test_types}
`, nil)
	m, recs := runLog(t, cfg, runner.Options{})
	if m.ExitCode != runner.ExitFailed || m.Queries[0].Status != runner.StatusOK {
		t.Fatalf("exit %d, query %+v", m.ExitCode, m.Queries[0])
	}
	sinks := m.Queries[0].Sinks
	if sinks[0].Status != runner.Failed || sinks[0].Rows != 0 || !strings.Contains(sinks[0].Error, "400") {
		t.Errorf("hook = %+v, want failed with no rows", sinks[0])
	}
	// The second batch's Write sent the first and failed; nothing more reached the hook.
	if n := len(h.received()); n != 1 {
		t.Errorf("the hook got %d requests after its Write failed, want 1", n)
	}
	if sinks[1].Status != runner.Delivered || sinks[1].Rows != 10 {
		t.Errorf("files = %+v: the other sink must still get the result", sinks[1])
	}
	if m.Sinks[0] != (runner.SinkSummary{Name: "hook", Failed: 1}) {
		t.Errorf("summary = %+v", m.Sinks)
	}
	if e := byMsg(recs, "writing to sink failed"); len(e) != 1 || e[0]["sink"] != "hook" {
		t.Errorf("write failure events = %v", e)
	}
}

func TestSelectionAndInvalidSelection(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
schedules:
  daily: rate(1 day)
  hourly: rate(1 hour)
sinks:
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: a, schedule: daily, sinks: [files], sql: select 1 as x}
  - {name: b, schedule: hourly, sinks: [files], sql: select 2 as x}
  - {name: c, schedule: daily, enabled: false, sinks: [files], sql: select 3 as x}
`, nil)
	m, _ := runLog(t, cfg, runner.Options{Schedule: "daily"})
	if len(m.Queries) != 1 || m.Queries[0].Name != "a" || m.ExitCode != 0 || m.Schedule != "daily" {
		t.Errorf("--schedule daily ran %+v", m.Queries)
	}
	m, _ = runLog(t, cfg, runner.Options{Queries: []string{"c"}})
	if len(m.Queries) != 1 || m.Queries[0].Name != "c" || m.Queries[0].Rows != 1 {
		t.Errorf("--query c ran %+v", m.Queries)
	}
	m, recs := runLog(t, cfg, runner.Options{Schedule: "weekly"})
	if m.ExitCode != runner.ExitInvalid || m.Status != runner.StatusInvalid || !strings.Contains(m.Errors[0], `no schedule group is called "weekly"`) {
		t.Errorf("--schedule weekly: %+v", m)
	}
	if len(byMsg(recs, "invalid configuration")) != 1 {
		t.Errorf("the selection error is not logged: %v", recs)
	}
}

// Each class of error the runner finds (beyond config.Parse's) is located, all are
// reported at once, and nothing is called or written.
func TestValidateLocatesErrorsAndTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, http.StatusOK)
	if err := os.WriteFile(filepath.Join(dir, "bad.sql"), []byte("select id,\n  nope\nfrom test_types\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := `connections:
  test:
    plugin: test
    config: rows = 3
  other:
    plugin: gcp
  bad_hcl:
    plugin: test
    config: rowz = 3
sinks:
  files: {type: file, path: "` + dir + `/out/{{.Query}}.jsonl"}
  db:
    type: postgres
    dsn_env: NOT_SET_ANYWHERE
  hook:
    type: webhook
    url: ` + h.srv.URL + `
    format: xml
queries:
  - name: typo
    sinks: [files, hook]
    sql: |
      select id,
             scroe
      from test_types
  - name: from_file
    sinks: [files]
    sql_file: bad.sql
  - name: fine
    sinks: [files]
    sql: select id from test_types
  - name: needs_kind
    sinks: [files]
    sql: select label from test_required
`
	cfg := parse(t, dir, text, nil)
	testplugin.Calls.Reset()
	err := runner.Validate(context.Background(), cfg, testPlugins, slog.New(slog.DiscardHandler))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want config.Errors", err)
	}
	path := filepath.Join(dir, "spout.yaml")
	want := []string{
		path + `:6:13: connections.other: plugin "gcp" is not available in this binary (available: test)`,
		path + `:14:5: sinks.db: dsn_env: environment variable NOT_SET_ANYWHERE is not set`,
		path + `:18:5: sinks.hook: format: unknown format "xml"`,
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if i < len(errs) && !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}

	// With the sinks and plugins fixed, the HCL and the SQL are checked.
	text = strings.Replace(text, "  other:\n    plugin: gcp\n", "", 1)
	text = strings.Replace(text, "    dsn_env: NOT_SET_ANYWHERE\n", "    dsn_env: PG\n", 1)
	text = strings.Replace(text, "    format: xml\n", "", 1)
	cfg = parse(t, dir, text, nil)
	t.Setenv("PG", "postgres://localhost/x")
	err = runner.Validate(context.Background(), cfg, testPlugins, slog.New(slog.DiscardHandler))
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), path+":7:13: connections.bad_hcl: ") {
		t.Fatalf("HCL error: %v", err)
	}
	text = strings.Replace(text, "  bad_hcl:\n    plugin: test\n    config: rowz = 3\n", "", 1)
	cfg = parse(t, dir, text, nil)
	err = runner.Validate(context.Background(), cfg, testPlugins, slog.New(slog.DiscardHandler))
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("SQL errors: %v", err)
	}
	// A table that needs a qual the query does not give, located at the table.
	if got := errs[2].Error(); got != path+":28:28: query needs_kind: test_required requires a qual on kind: add e.g. where kind = '...'" {
		t.Errorf("missing qual error = %q", got)
	}
	// Sorted by file: bad.sql, then spout.yaml.
	if got := errs[0].Error(); !strings.HasPrefix(got, filepath.Join(dir, "bad.sql")+":2:3: query from_file: ") || strings.Contains(got, "\n") {
		t.Errorf("SQL error in sql_file = %q", got)
	}
	// "scroe" is on line 2 of the SQL, which starts on file line 17, indented 6.
	if got := errs[1].Error(); !strings.HasPrefix(got, path+":18:14: query typo: ") || !strings.Contains(got, "scroe") {
		t.Errorf("SQL error in the file = %q", got)
	}

	if calls := testplugin.Calls.All(); len(calls) != 0 {
		t.Errorf("validation called the plugin: %+v", calls)
	}
	if got := h.received(); len(got) != 0 {
		t.Errorf("validation called the webhook: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("validation wrote files: %v", err)
	}
}

func TestRunRefusesAnInvalidConfigBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, http.StatusOK)
	cfg := parse(t, dir, `
connections:
  test: {plugin: test}
sinks:
  hook: {type: webhook, url: "`+h.srv.URL+`"}
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - {name: good, sinks: [hook, files], sql: select id from test_types}
  - {name: bad, sinks: [files], sql: select idd from test_types}
run:
  manifest_sinks: [hook]
`, nil)
	testplugin.Calls.Reset()
	m, recs := runLog(t, cfg, runner.Options{})
	if m.ExitCode != runner.ExitInvalid || m.Status != runner.StatusInvalid || len(m.Errors) != 1 || !strings.Contains(m.Errors[0], "idd") {
		t.Fatalf("manifest = %+v", m)
	}
	if len(testplugin.Calls.All()) != 0 || len(h.received()) != 0 {
		t.Errorf("an invalid run called the plugin (%d) or the webhook (%d)", len(testplugin.Calls.All()), len(h.received()))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("an invalid run wrote files: %v", entries)
	}
	if e := byMsg(recs, "invalid configuration"); len(e) != 1 || e[0]["line"] != 9.0 || e[0]["file"] != filepath.Join(dir, "spout.yaml") {
		t.Errorf("config error event = %v", e)
	}
}

// A run whose context ends mid-result (SIGTERM in spout run) aborts the open result,
// keeps what it had committed, and reports itself interrupted with its own exit code.
func TestInterruptedRunAbortsOpenResults(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
connections:
  test: {plugin: test, config: 'delay = "20ms"'}
sinks:
  files: {type: file, path: "`+dir+`/{{.Query}}.jsonl"}
queries:
  - name: quick
    sinks: [files]
    sql: select 1 as one
  - name: slow
    sinks: [files]
    sql: select id, page from test_slow
  - name: later
    sinks: [files]
    sql: select 2 as two
run:
  concurrency: 1
`, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Stop once the slow scan is under way; quick has been committed by then.
		for {
			if _, err := os.Stat(filepath.Join(dir, "quick.jsonl")); err == nil {
				time.Sleep(300 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	m := runner.Run(ctx, cfg, runner.Options{Plugins: testPlugins, StopGrace: 5 * time.Second})
	if m.Status != runner.StatusInterrupted || m.ExitCode != runner.ExitInterrupted {
		t.Fatalf("manifest status %q exit %d, want %q %d", m.Status, m.ExitCode, runner.StatusInterrupted, runner.ExitInterrupted)
	}
	want := map[string]string{"quick": runner.StatusOK, "slow": runner.StatusInterrupted, "later": runner.StatusInterrupted}
	for _, q := range m.Queries {
		if q.Status != want[q.Name] {
			t.Errorf("query %s: status %q (%s), want %q", q.Name, q.Status, q.Error, want[q.Name])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "quick.jsonl")); err != nil {
		t.Errorf("the committed result is gone: %v", err)
	}
	for _, name := range []string{"slow.jsonl", "later.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("an interrupted run wrote %s (%v)", name, err)
		}
	}
}

func TestValidateAsksARunForQueries(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, "connections:\n  test: {plugin: test}\n", nil)
	err := runner.Validate(context.Background(), cfg, testPlugins, nil)
	if err == nil || !strings.Contains(err.Error(), "spout.yaml:1:1: no queries") {
		t.Errorf("got %v, want no queries at 1:1", err)
	}
}
