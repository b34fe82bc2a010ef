package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/internal/s3test"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// changeHook is a webhook receiver whose answer can change between runs.
type changeHook struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	rows   []map[string]any // every row received, in order
	posts  int
}

func newChangeHook(t *testing.T) *changeHook {
	h := &changeHook{}
	h.status.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Rows []map[string]any `json:"rows"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("webhook body is not JSON: %q", b)
		}
		status := int(h.status.Load())
		h.mu.Lock()
		h.posts++
		if status == http.StatusOK {
			h.rows = append(h.rows, body.Rows...)
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// take returns the rows received since the last take, and how many requests came.
func (h *changeHook) take() (rows []map[string]any, posts int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rows, posts = h.rows, h.posts
	h.rows, h.posts = nil, 0
	return rows, posts
}

// changes summarises rows as "change:id" strings, sorted.
func changes(rows []map[string]any) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%v:%v", r["_spout_change"], r["id"]))
	}
	sort.Strings(out)
	return out
}

// diffRun is one run of a diffed configuration over the test plugin's test_types, with
// rows rows and account_id acct: the query's acct column shows account_id on row 2 only,
// so changing acct changes exactly that row.
type diffRun struct {
	rows  int
	acct  string
	diff  string // the query's diff settings, YAML
	first string // diff_first_run, or ""
}

func diffYAML(dir, stateYAML, hookURL string, r diffRun, extraSinks string) string {
	first := ""
	if r.first != "" {
		first = "\n    diff_first_run: " + r.first
	}
	return fmt.Sprintf(`
connections:
  test:
    plugin: test
    config: |
      rows = %d
      account_id = "%s"
sinks:
  hook:
    type: webhook
    url: %s
    retry: {attempts: 1}
  files: {type: file, path: "%s/{{.RunID}}.jsonl"}%s
state:
%s
queries:
  - name: items
    sinks: [hook, files]
    diff: %s%s
    sql: select id, name, case when id = 2 then account_id else 'fixed' end as acct from test_types
`, r.rows, r.acct, hookURL, dir, extraSinks, stateYAML, r.diff, first)
}

func runDiff(t *testing.T, dir, stateYAML string, h *changeHook, r diffRun) *runner.Manifest {
	t.Helper()
	cfg := parse(t, dir, diffYAML(dir, stateYAML, h.srv.URL, r, ""), nil)
	m, _ := runLog(t, cfg, runner.Options{})
	if len(m.Queries) != 1 {
		t.Fatalf("manifest: %+v", m)
	}
	return m
}

func pgState(t *testing.T) (yaml string, dsn string) {
	dsn = pgtest.DSN(t)
	t.Setenv("STATE_DSN", dsn)
	return "  type: postgres\n  dsn_env: STATE_DSN", dsn
}

func s3State(t *testing.T) (string, *s3test.Server) {
	f := s3test.Start(t, "state")
	return "  type: s3\n  bucket: state\n  prefix: spout/\n  endpoint: " + f.URL + "\n  path_style: true", f
}

// isWrite is an upload: a PUT or a POST.
func isWrite(r *http.Request) bool { return r.Method == http.MethodPut || r.Method == http.MethodPost }

func wantDiff(t *testing.T, m *runner.Manifest, want runner.DiffResult) {
	t.Helper()
	got := m.Queries[0].Diff
	if got == nil || *got != want {
		t.Errorf("manifest diff = %+v, want %+v", got, want)
	}
}

// The keyed diff over a Postgres state store: first run, no change, a change, an
// addition and removals, each delivered once.
func TestKeyedDiffWithPostgresState(t *testing.T) {
	dir := t.TempDir()
	st, dsn := pgState(t)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest { r.diff = "{key: [id]}"; return runDiff(t, dir, st, h, r) }

	m := run(diffRun{rows: 4, acct: "a"})
	if m.ExitCode != 0 {
		t.Fatalf("first run: exit %d: %+v", m.ExitCode, m)
	}
	wantDiff(t, m, runner.DiffResult{Added: 4, FirstRun: true, StateAdvanced: true})
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:1", "added:2", "added:3", "added:4"}) {
		t.Errorf("first run sent %v", changes(rows))
	}

	m = run(diffRun{rows: 4, acct: "a"})
	wantDiff(t, m, runner.DiffResult{Unchanged: 4, StateAdvanced: true})
	if rows, posts := h.take(); posts != 0 {
		t.Errorf("an unchanged result sent %d requests (%v), want none", posts, rows)
	}
	if s := m.Queries[0].Sinks; m.ExitCode != 0 || s[0] != (runner.SinkResult{Name: "hook", Status: runner.Delivered}) {
		t.Errorf("unchanged run: exit %d, sinks %+v", m.ExitCode, s)
	}

	// Row 2's acct changes and row 5 appears.
	m = run(diffRun{rows: 5, acct: "b"})
	wantDiff(t, m, runner.DiffResult{Added: 1, Changed: 1, Unchanged: 3, StateAdvanced: true})
	rows, _ := h.take()
	if !slices.Equal(changes(rows), []string{"added:5", "changed:2"}) {
		t.Errorf("third run sent %v", changes(rows))
	}
	for _, r := range rows {
		if r["id"] == 2.0 && r["acct"] != "b" {
			t.Errorf("the changed row carries its new values: %v", r)
		}
	}

	// Rows 4 and 5 go: they are sent once more, with the values they had.
	m = run(diffRun{rows: 3, acct: "b"})
	wantDiff(t, m, runner.DiffResult{Removed: 2, Unchanged: 3, StateAdvanced: true})
	rows, _ = h.take()
	if !slices.Equal(changes(rows), []string{"removed:4", "removed:5"}) {
		t.Fatalf("fourth run sent %v", changes(rows))
	}
	for _, r := range rows {
		if r["name"] != fmt.Sprintf("item-%v", r["id"]) || r["acct"] != "fixed" {
			t.Errorf("a removed row keeps its last values: %v", r)
		}
	}
	if m.Queries[0].Sinks[1].Rows != 2 {
		t.Errorf("files got %+v, want the 2 removed rows", m.Queries[0].Sinks[1])
	}

	// The state is a table the user can read: the 3 rows of the last result.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, saved int
	if err := conn.QueryRow(ctx, `select count(*), (select rows from spout_state where state_key = 'items') from spout_state_rows where state_key = 'items'`).Scan(&n, &saved); err != nil {
		t.Fatal(err)
	}
	if n != 3 || saved != 3 {
		t.Errorf("state holds %d rows (snapshot says %d), want 3", n, saved)
	}
}

// Without key a changed row is removed plus added; the S3 state store keeps the snapshot.
func TestUnkeyedDiffWithS3State(t *testing.T) {
	dir := t.TempDir()
	st, _ := s3State(t)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest { r.diff = "true"; return runDiff(t, dir, st, h, r) }

	m := run(diffRun{rows: 3, acct: "a"})
	wantDiff(t, m, runner.DiffResult{Added: 3, FirstRun: true, StateAdvanced: true})
	if rows, _ := h.take(); len(rows) != 3 {
		t.Errorf("first run sent %v", changes(rows))
	}
	m = run(diffRun{rows: 3, acct: "a"})
	wantDiff(t, m, runner.DiffResult{Unchanged: 3, StateAdvanced: true})
	if _, posts := h.take(); posts != 0 {
		t.Errorf("an unchanged result sent %d requests", posts)
	}
	m = run(diffRun{rows: 4, acct: "b"})
	wantDiff(t, m, runner.DiffResult{Added: 2, Removed: 1, Unchanged: 2, StateAdvanced: true})
	rows, _ := h.take()
	if !slices.Equal(changes(rows), []string{"added:2", "added:4", "removed:2"}) {
		t.Errorf("third run sent %v", changes(rows))
	}
	for _, r := range rows {
		if r["id"] == 2.0 && (r["_spout_change"] == "removed") != (r["acct"] == "a") {
			t.Errorf("row 2 removed with its old acct, added with its new: %v", r)
		}
	}
	if m.ExitCode != 0 {
		t.Errorf("exit %d", m.ExitCode)
	}
}

func TestDiffFirstRunModes(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []string // what the first run sends
	}{
		{"added", []string{"added:1", "added:2"}},
		{"snapshot", []string{"<nil>:1", "<nil>:2"}},
		{"none", []string{}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			st, _ := pgState(t)
			h := newChangeHook(t)
			m := runDiff(t, dir, st, h, diffRun{rows: 2, acct: "a", diff: "{key: [id]}", first: tc.mode})
			wantDiff(t, m, runner.DiffResult{Added: 2, FirstRun: true, StateAdvanced: true})
			rows, posts := h.take()
			if !slices.Equal(changes(rows), tc.want) || (len(tc.want) == 0 && posts != 0) {
				t.Errorf("first run sent %v in %d requests, want %v", changes(rows), posts, tc.want)
			}
			// The first run recorded the state whatever it sent: the second sends changes only.
			m = runDiff(t, dir, st, h, diffRun{rows: 3, acct: "a", diff: "{key: [id]}", first: tc.mode})
			wantDiff(t, m, runner.DiffResult{Added: 1, Unchanged: 2, StateAdvanced: true})
			if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:3"}) {
				t.Errorf("second run sent %v", changes(rows))
			}
		})
	}
}

// A sink that fails keeps the state where it was, so the next run sends the same changes.
func TestFailedDeliveryDoesNotAdvanceTheState(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest { r.diff = "{key: [id]}"; return runDiff(t, dir, st, h, r) }
	run(diffRun{rows: 2, acct: "a"})
	h.take()

	h.status.Store(http.StatusBadRequest)
	m := run(diffRun{rows: 3, acct: "a"})
	if m.ExitCode != runner.ExitFailed || m.Queries[0].Sinks[0].Status != runner.Failed {
		t.Fatalf("exit %d, sinks %+v", m.ExitCode, m.Queries[0].Sinks)
	}
	wantDiff(t, m, runner.DiffResult{Added: 1, Unchanged: 2})
	if m.Queries[0].Sinks[1].Status != runner.Delivered {
		t.Errorf("files = %+v: the other sink still gets the changes", m.Queries[0].Sinks[1])
	}

	h.status.Store(http.StatusOK)
	m = run(diffRun{rows: 3, acct: "a"})
	wantDiff(t, m, runner.DiffResult{Added: 1, Unchanged: 2, StateAdvanced: true})
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:3"}) {
		t.Errorf("the run after the failure sent %v, want row 3 again", changes(rows))
	}
	if m.ExitCode != 0 {
		t.Errorf("exit %d", m.ExitCode)
	}
}

// A state store that cannot be read: every sink gets the whole result, unmarked, the
// manifest says so, the run exits 1, and the saved state stays as it was.
func TestUnreachableStateStoreDeliversTheFullSnapshot(t *testing.T) {
	dir := t.TempDir()
	st, s3 := s3State(t)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest { r.diff = "{key: [id]}"; return runDiff(t, dir, st, h, r) }
	run(diffRun{rows: 2, acct: "a"})
	h.take()

	s3.FailWhen(func(*http.Request) bool { return true })
	m := run(diffRun{rows: 3, acct: "b"})
	if m.ExitCode != runner.ExitFailed || m.Status != runner.StatusFailed {
		t.Errorf("exit %d status %s, want 1 failed", m.ExitCode, m.Status)
	}
	d := m.Queries[0].Diff
	if d == nil || !d.FullSnapshot || d.StateAdvanced || !strings.Contains(d.StateError, "loading the state") {
		t.Errorf("manifest diff = %+v, want a full snapshot with the state error", d)
	}
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"<nil>:1", "<nil>:2", "<nil>:3"}) {
		t.Errorf("the unreachable run sent %v, want every row unmarked", changes(rows))
	}
	if s := m.Queries[0].Sinks; s[0].Status != runner.Delivered || s[1].Rows != 3 {
		t.Errorf("sinks = %+v", s)
	}

	// Back up: the changes are against the state of the first run, which did not move.
	s3.FailWhen(nil)
	m = run(diffRun{rows: 3, acct: "b"})
	wantDiff(t, m, runner.DiffResult{Added: 1, Changed: 1, Unchanged: 1, StateAdvanced: true})
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:3", "changed:2"}) {
		t.Errorf("the run after the outage sent %v", changes(rows))
	}
}

// A server that refuses connections counts as unreachable too.
func TestUnreachablePostgresState(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STATE_DSN", "postgres://spout@127.0.0.1:1/none?connect_timeout=2")
	h := newChangeHook(t)
	m := runDiff(t, dir, "  type: postgres\n  dsn_env: STATE_DSN", h, diffRun{rows: 2, acct: "a", diff: "true"})
	if d := m.Queries[0].Diff; m.ExitCode != 1 || d == nil || !d.FullSnapshot || d.StateAdvanced {
		t.Errorf("exit %d, diff %+v", m.ExitCode, d)
	}
	if rows, _ := h.take(); len(rows) != 2 {
		t.Errorf("sent %v, want both rows", changes(rows))
	}
}

// Snapshot sinks get every row, marked; a Postgres sink in replace mode then holds the
// current result with what happened to each row.
func TestSnapshotSinksGetEveryRow(t *testing.T) {
	dir := t.TempDir()
	st, dsn := pgState(t)
	t.Setenv("SINK_DSN", dsn)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest {
		t.Helper()
		text := diffYAML(dir, st, h.srv.URL, r, "\n  table: {type: postgres, dsn_env: SINK_DSN, mode: replace}")
		text = strings.Replace(text, "sinks: [hook, files]", "sinks: [hook, table]", 1)
		text = strings.Replace(text, "diff: x", "diff: {key: [id], snapshot_sinks: [table]}", 1)
		m, _ := runLog(t, parse(t, dir, text, nil), runner.Options{})
		return m
	}
	run(diffRun{rows: 3, acct: "a", diff: "x"})
	h.take()
	m := run(diffRun{rows: 3, acct: "b", diff: "x"})
	if m.ExitCode != 0 {
		t.Fatalf("exit %d: %+v", m.ExitCode, m.Queries)
	}
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"changed:2"}) {
		t.Errorf("the change sink got %v", changes(rows))
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select _spout_change || ':' || id from items order by id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"unchanged:1", "changed:2", "unchanged:3"}) {
		t.Errorf("the snapshot sink holds %v", got)
	}
}

// A partial result (one connection failed) reports no removals for the rows it lacks and
// keeps them in the state, so they are not "added" again when the connection is back.
func TestPartialResultKeepsMissingRows(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	run := func(failB bool) *runner.Manifest {
		t.Helper()
		cfg := parse(t, dir, fmt.Sprintf(`
connections:
  a: {plugin: test, config: "rows = 2\naccount_id = \"a\""}
  b: {plugin: test, config: "rows = 2\naccount_id = \"b\"\nfail = %t"}
  agg: {plugin: test, type: aggregator, connections: [a, b]}
sinks:
  hook: {type: webhook, url: %s, retry: {attempts: 1}}
state:
%s
queries:
  - name: items
    sinks: [hook]
    diff: {key: [account_id, id]}
    sql: select account_id, id from agg.test_types
`, failB, h.srv.URL, st), nil)
		m, _ := runLog(t, cfg, runner.Options{})
		return m
	}
	m := run(false)
	if rows, _ := h.take(); len(rows) != 4 {
		t.Fatalf("first run sent %v: %+v", rows, m)
	}
	m = run(true)
	if m.Queries[0].Status != runner.StatusPartial {
		t.Fatalf("query = %+v, want partial", m.Queries[0])
	}
	wantDiff(t, m, runner.DiffResult{Unchanged: 2, StateAdvanced: true})
	if rows, posts := h.take(); posts != 0 {
		t.Errorf("a partial result sent %v: the missing rows are not removed", rows)
	}
	m = run(false)
	wantDiff(t, m, runner.DiffResult{Unchanged: 4, StateAdvanced: true})
	if rows, posts := h.take(); posts != 0 {
		t.Errorf("the connection's return sent %v", rows)
	}
}

func TestDiffConfigErrorsAreLocated(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STATE_DSN", "postgres://localhost/x")
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"diff without state", `
connections: {test: {plugin: test}}
sinks: {out: {type: file, path: "-"}}
queries:
  - name: q
    sinks: [out]
    diff: true
    sql: select id from test_types
`, []string{"7:5: queries[0] (q): diff needs a state store"}},
		{"key columns and snapshot sinks", `
connections: {test: {plugin: test}}
sinks: {out: {type: file, path: "-"}}
state: {type: postgres, dsn_env: STATE_DSN}
queries:
  - name: q
    sinks: [out]
    diff: {key: [id, nme], snapshot_sinks: [other]}
    diff_first_run: sometimes
    sql: select id, name from test_types
`, []string{
			`8:22: query q: diff.key: the result has no column "nme" (did you mean "name"?)`,
			"8:45: queries[0] (q): diff.snapshot_sinks: other is not one of the query's sinks",
			`9:21: queries[0].diff_first_run: "sometimes" is not one of added, snapshot, none`,
		}},
		{"the change column taken", `
connections: {test: {plugin: test}}
sinks: {out: {type: file, path: "-"}}
state: {type: postgres, dsn_env: STATE_DSN}
queries:
  - {name: q, sinks: [out], diff: true, sql: "select id as _spout_change from test_types"}
`, []string{"6:29: query q: the result has a column _spout_change"}},
		{"state options", `
connections: {test: {plugin: test}}
sinks: {out: {type: file, path: "-"}}
state:
  type: postgres
  dsn_env: NOT_SET_ANYWHERE
  bucket: b
queries:
  - {name: q, sinks: [out], diff: true, sql: "select id from test_types"}
`, []string{
			"6:3: state.dsn_env: environment variable NOT_SET_ANYWHERE is not set",
			"7:3: state.bucket: not an option of a postgres state store",
		}},
		{"diff_first_run without diff", `
connections: {test: {plugin: test}}
sinks: {out: {type: file, path: "-"}}
queries:
  - {name: q, sinks: [out], diff_first_run: none, sql: "select id from test_types"}
`, []string{"5:29: queries[0] (q): diff_first_run is only used with diff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configParse(t, dir, tc.yaml)
			err = runner.Check(context.Background(), cfg, err, testPlugins, nil)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant %d", err, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(lines[i], "spout.yaml:"+want) {
					t.Errorf("error %d = %q, want spout.yaml:%s...", i, lines[i], want)
				}
			}
		})
	}
}

func configParse(t *testing.T, dir, text string) (*config.Config, error) {
	t.Helper()
	return config.Parse("spout.yaml", dir, []byte(text), func(string) (string, bool) { return "", false })
}

// A state that cannot be saved after the sinks committed: the changes were delivered, the
// run exits 1, and the next run sends them again.
func TestFailedStateSaveSendsTheChangesAgain(t *testing.T) {
	dir := t.TempDir()
	st, s3 := s3State(t)
	h := newChangeHook(t)
	run := func(r diffRun) *runner.Manifest { r.diff = "{key: [id]}"; return runDiff(t, dir, st, h, r) }
	run(diffRun{rows: 2, acct: "a"})
	h.take()

	s3.FailWhen(isWrite)
	m := run(diffRun{rows: 3, acct: "a"})
	d := m.Queries[0].Diff
	if m.ExitCode != runner.ExitFailed || d == nil || d.StateAdvanced || d.FullSnapshot || !strings.Contains(d.StateError, "saving the state") {
		t.Errorf("exit %d, diff %+v", m.ExitCode, d)
	}
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:3"}) {
		t.Errorf("sent %v", changes(rows))
	}
	s3.FailWhen(nil)
	m = run(diffRun{rows: 3, acct: "a"})
	wantDiff(t, m, runner.DiffResult{Added: 1, Unchanged: 2, StateAdvanced: true})
	if rows, _ := h.take(); !slices.Equal(changes(rows), []string{"added:3"}) {
		t.Errorf("the next run sent %v, want row 3 again", changes(rows))
	}
}

// A key that repeats in one result makes the query fail before anything is committed.
func TestDuplicateDiffKeyFailsTheQuery(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	text := strings.Replace(diffYAML(dir, st, h.srv.URL, diffRun{rows: 3, acct: "a", diff: "{key: [acct]}"}, ""), "select id,", "select", 1)
	m, _ := runLog(t, parse(t, dir, text, nil), runner.Options{})
	q := m.Queries[0]
	if m.ExitCode != runner.ExitFailed || q.Status != runner.StatusFailed || !strings.Contains(q.Error, `diff key (acct) is not unique in the result: ["fixed"] appears twice`) {
		t.Errorf("exit %d, query %+v", m.ExitCode, q)
	}
	if q.Diff == nil || q.Diff.StateAdvanced {
		t.Errorf("diff = %+v", q.Diff)
	}
	for _, s := range q.Sinks {
		if s.Status != runner.NotDelivered {
			t.Errorf("sink %+v, want not delivered", s)
		}
	}
}

// Runs with different scopes (shards) keep separate snapshots.
func TestStateScopeSeparatesSnapshots(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	cfg := func(rows int) *config.Config {
		return parse(t, dir, diffYAML(dir, st, h.srv.URL, diffRun{rows: rows, acct: "a", diff: "true"}, ""), nil)
	}
	m1, _ := runLog(t, cfg(2), runner.Options{StateScope: "1-of-2"})
	m2, _ := runLog(t, cfg(3), runner.Options{StateScope: "2-of-2"})
	if !m1.Queries[0].Diff.FirstRun || !m2.Queries[0].Diff.FirstRun {
		t.Errorf("each scope starts on its own: %+v %+v", m1.Queries[0].Diff, m2.Queries[0].Diff)
	}
	m1, _ = runLog(t, cfg(2), runner.Options{StateScope: "1-of-2"})
	wantDiff(t, m1, runner.DiffResult{Unchanged: 2, StateAdvanced: true})
}

// A removed row is rebuilt from the saved state with its column types: a Postgres sink
// stores it as it stored the row when it was added.
func TestRemovedRowsKeepTheirTypes(t *testing.T) {
	dir := t.TempDir()
	st, dsn := pgState(t)
	t.Setenv("SINK_DSN", dsn)
	run := func(rows int) *runner.Manifest {
		t.Helper()
		m, _ := runLog(t, parse(t, dir, fmt.Sprintf(`
connections:
  test: {plugin: test, config: "rows = %d"}
sinks:
  table: {type: postgres, dsn_env: SINK_DSN}
state:
%s
queries:
  - name: typed
    sinks: [table]
    diff: {key: [id]}
    sql: select id, name, score, active, created_at, tags, ip from test_types
`, rows, st), nil), runner.Options{})
		if m.ExitCode != 0 {
			t.Fatalf("exit %d: %+v", m.ExitCode, m.Queries)
		}
		return m
	}
	run(4)
	run(3)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := `select _spout_change, id, name, score, active, created_at, tags, ip from typed where id = 4 order by _spout_collected_at`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Change    string
		ID        int64
		Name      string
		Score     float64
		Active    bool
		CreatedAt time.Time
		Tags      map[string]any
		IP        string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Change != "added" || got[1].Change != "removed" {
		t.Fatalf("row 4 = %+v, want added then removed", got)
	}
	added, removed := got[0], got[1]
	removed.Change = added.Change
	if !added.CreatedAt.Equal(removed.CreatedAt) {
		t.Errorf("created_at %v, then %v", added.CreatedAt, removed.CreatedAt)
	}
	removed.CreatedAt = added.CreatedAt
	if fmt.Sprint(added) != fmt.Sprint(removed) || added.Score != 6 || !added.Active || added.Tags["environment"] != "prod" {
		t.Errorf("added %+v\nremoved %+v", added, removed)
	}
}

// A sharded run keeps its snapshot under its shard: the same query unsharded, or in
// another layout, starts its own.
func TestShardedRunsScopeTheirState(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	cfg := parse(t, dir, diffYAML(dir, st, h.srv.URL, diffRun{rows: 2, acct: "a", diff: "true"}, ""), nil)
	// The one connection belongs to one of the two shards, which runs the query.
	var ran *runner.Manifest
	var owner sink.Shard
	for i := 1; i <= 2; i++ {
		m, _ := runLog(t, cfg, runner.Options{Shard: sink.Shard{Index: i, Count: 2}})
		if len(m.Queries) == 1 {
			ran, owner = m, sink.Shard{Index: i, Count: 2}
		}
	}
	if ran == nil || !ran.Queries[0].Diff.FirstRun {
		t.Fatalf("no shard ran the query as a first run: %+v", ran)
	}
	m, _ := runLog(t, cfg, runner.Options{})
	if m.Queries[0].Diff == nil || !m.Queries[0].Diff.FirstRun {
		t.Errorf("an unsharded run reused a shard's snapshot: %+v", m.Queries[0].Diff)
	}
	// The shard that ran it finds its own snapshot again.
	m, _ = runLog(t, cfg, runner.Options{Shard: owner})
	wantDiff(t, m, runner.DiffResult{Unchanged: 2, StateAdvanced: true})
}

// A shard whose accounts have all left still diffs its (empty) part of a fan-out query:
// the rows it reported before are removed, and its snapshot becomes empty.
func TestShardLeftWithoutAccountsReportsRemovedRows(t *testing.T) {
	dir := t.TempDir()
	st, _ := pgState(t)
	h := newChangeHook(t)
	// Two connections owned by different shards of two.
	var a, b string
	for i := 0; a == "" || b == ""; i++ {
		name := fmt.Sprintf("acct_%d", i)
		switch {
		case a == "" && runner.ShardOf(name, 2) == 1:
			a = name
		case b == "" && runner.ShardOf(name, 2) == 2:
			b = name
		}
	}
	yaml := func(members ...string) string {
		var conns strings.Builder
		for i, m := range members {
			fmt.Fprintf(&conns, "  %s:\n    plugin: test\n    config: |\n      rows = 2\n      account_id = \"%012d\"\n", m, i+1)
		}
		return fmt.Sprintf(`
connections:
%s  all:
    plugin: test
    type: aggregator
    connections: ["acct_*"]
sinks:
  hook:
    type: webhook
    url: %s
    retry: {attempts: 1}
state:
%s
queries:
  - name: items
    sinks: [hook]
    diff: {key: [account_id, id]}
    sql: select account_id, id, name from test_types
`, conns.String(), h.srv.URL, st)
	}
	shard1 := runner.Options{Shard: sink.Shard{Index: 1, Count: 2}}
	m, _ := runLog(t, parse(t, dir, yaml(a, b), nil), shard1)
	wantDiff(t, m, runner.DiffResult{Added: 2, FirstRun: true, StateAdvanced: true})
	h.take()

	// a leaves: shard 1 owns no member of all any more.
	m, _ = runLog(t, parse(t, dir, yaml(b), nil), shard1)
	if m.ExitCode != 0 {
		t.Fatalf("exit %d: %+v", m.ExitCode, m.Queries)
	}
	wantDiff(t, m, runner.DiffResult{Removed: 2, StateAdvanced: true})
	rows, _ := h.take()
	if got := changes(rows); !slices.Equal(got, []string{"removed:1", "removed:2"}) {
		t.Errorf("changes sent: %v, want a's two rows removed", got)
	}

	// And the next run has nothing to say.
	m, _ = runLog(t, parse(t, dir, yaml(b), nil), shard1)
	wantDiff(t, m, runner.DiffResult{StateAdvanced: true})
	if rows, posts := h.take(); posts != 0 {
		t.Errorf("a run without changes posted %d times: %v", posts, rows)
	}
}
