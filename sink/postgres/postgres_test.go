package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/sink"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newTestSink returns a sink on a fresh database and a connection to check it with.
func newTestSink(t testing.TB, cfg Config) (*Sink, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.DSN(t)
	if cfg.DSNEnv == "" {
		cfg.DSNEnv = "SPOUT_TEST_PG_DSN"
	}
	t.Setenv(cfg.DSNEnv, dsn)
	s, err := New("pg", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return s, conn
}

var cols = []sink.Column{
	{Name: "arn", Type: sink.TypeText},
	{Name: "size", Type: sink.TypeBigint},
}

func info(run string, c []sink.Column) sink.ResultInfo {
	return sink.ResultInfo{
		Query:       "buckets",
		RunID:       run,
		CollectedAt: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
		Columns:     c,
		Connection:  "aws",
	}
}

// deliver writes one whole result in batches of 100 and commits it.
func deliver(t testing.TB, s sink.Sink, in sink.ResultInfo, rows []sink.Row) {
	t.Helper()
	ctx := context.Background()
	w, err := s.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for len(rows) > 0 {
		n := min(100, len(rows))
		if err := w.Write(ctx, rows[:n]); err != nil {
			w.Abort(ctx)
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Commit(ctx); err != nil {
		w.Abort(ctx)
		t.Fatal(err)
	}
}

func numbered(prefix string, n int) []sink.Row {
	rows := make([]sink.Row, n)
	for i := range rows {
		rows[i] = sink.Row{fmt.Sprintf("%s-%d", prefix, i), int64(i)}
	}
	return rows
}

// query returns the rows of sql as strings, one line per row.
func query(t testing.TB, conn *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(vals), "["), "]"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func TestAppendKeepsHistory(t *testing.T) {
	s, conn := newTestSink(t, Config{Table: "spout_{{.Query}}"})
	deliver(t, s, info("run-1", cols), numbered("a", 3))
	deliver(t, s, info("run-2", cols), numbered("b", 2))
	equal(t, "rows",
		query(t, conn, "select _spout_run_id, _spout_collected_at, arn, size from spout_buckets order by 1, 3"),
		"run-1 2026-11-22 06:00:00 +0000 UTC a-0 0",
		"run-1 2026-11-22 06:00:00 +0000 UTC a-1 1",
		"run-1 2026-11-22 06:00:00 +0000 UTC a-2 2",
		"run-2 2026-11-22 06:00:00 +0000 UTC b-0 0",
		"run-2 2026-11-22 06:00:00 +0000 UTC b-1 1")
}

func TestCreatesTypedColumns(t *testing.T) {
	s, conn := newTestSink(t, Config{Table: "analytics.{{.Query}}_{{.Connection}}"})
	all := []sink.Column{
		{Name: "t", Type: sink.TypeText}, {Name: "j", Type: sink.TypeJSONB},
		{Name: "ts", Type: sink.TypeTimestamptz}, {Name: "n", Type: sink.TypeBigint},
		{Name: "d", Type: sink.TypeDouble}, {Name: "b", Type: sink.TypeBoolean},
		{Name: "Mixed Case-name", Type: sink.TypeText},
	}
	deliver(t, s, info("r", all), nil)
	equal(t, "columns", query(t, conn, `select column_name, data_type from information_schema.columns
		where table_schema = 'analytics' and table_name = 'buckets_aws' order by ordinal_position`),
		"_spout_run_id text", "_spout_collected_at timestamp with time zone",
		"t text", "j jsonb", "ts timestamp with time zone", "n bigint", "d double precision", "b boolean",
		"Mixed Case-name text")
}

func TestReplaceHoldsLatestResult(t *testing.T) {
	s, conn := newTestSink(t, Config{Mode: Replace})
	deliver(t, s, info("run-1", cols), numbered("a", 3))
	deliver(t, s, info("run-2", cols), numbered("b", 2))
	equal(t, "rows", query(t, conn, "select _spout_run_id, arn from buckets order by arn"), "run-2 b-0", "run-2 b-1")
	// An empty result empties the table: it is the latest result.
	deliver(t, s, info("run-3", cols), nil)
	equal(t, "rows", query(t, conn, "select count(*) from buckets"), "0")
}

func TestUpsertMergesOnKey(t *testing.T) {
	s, conn := newTestSink(t, Config{Mode: Upsert, Key: []string{"arn"}})
	deliver(t, s, info("run-1", cols), []sink.Row{{"x", int64(1)}, {"y", int64(2)}})
	deliver(t, s, info("run-2", cols), []sink.Row{
		{"y", int64(20)}, {"z", int64(30)},
		{"z", int64(31)}, // repeated key: the later row wins
	})
	equal(t, "rows", query(t, conn, "select _spout_run_id, arn, size from buckets order by arn"),
		"run-1 x 1", "run-2 y 20", "run-2 z 31")
	equal(t, "index", query(t, conn, "select indexdef from pg_indexes where tablename = 'buckets'"),
		"CREATE UNIQUE INDEX buckets_spout_key ON public.buckets USING btree (arn)")

	// A table made by hand with its own primary key gets no second index.
	s2, conn2 := newTestSink(t, Config{Mode: Upsert, Key: []string{"size", "arn"}})
	if _, err := conn2.Exec(context.Background(), "create table buckets (arn text, size bigint, primary key (arn, size))"); err != nil {
		t.Fatal(err)
	}
	deliver(t, s2, info("run-1", cols), []sink.Row{{"x", int64(1)}})
	deliver(t, s2, info("run-2", cols), []sink.Row{{"x", int64(1)}, {"x", int64(2)}})
	equal(t, "rows", query(t, conn2, "select _spout_run_id, arn, size from buckets order by size"), "run-2 x 1", "run-2 x 2")
	equal(t, "indexes", query(t, conn2, "select count(*) from pg_indexes where tablename = 'buckets'"), "1")
}

func TestSchemaEvolves(t *testing.T) {
	s, conn := newTestSink(t, Config{})
	deliver(t, s, info("run-1", cols), []sink.Row{{"a", int64(1)}})
	// The query gains a column and loses one.
	wider := []sink.Column{{Name: "arn", Type: sink.TypeText}, {Name: "tags", Type: sink.TypeJSONB}}
	deliver(t, s, info("run-2", wider), []sink.Row{{"b", json.RawMessage(`{"env":"prod"}`)}})
	equal(t, "rows", query(t, conn, "select _spout_run_id, arn, size, tags::text from buckets order by 1"),
		"run-1 a 1 <nil>", `run-2 b <nil> {"env": "prod"}`)

	// A column that exists with another type keeps it; values are converted.
	if _, err := conn.Exec(context.Background(), "create table manual (_spout_run_id text, _spout_collected_at timestamptz, n text, d double precision)"); err != nil {
		t.Fatal(err)
	}
	s2, err := New("pg2", Config{DSNEnv: "SPOUT_TEST_PG_DSN", Table: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deliver(t, s2, info("r", []sink.Column{{Name: "n", Type: sink.TypeBigint}, {Name: "d", Type: sink.TypeBigint}}), []sink.Row{{int64(7), int64(8)}})
	equal(t, "converted", query(t, conn, "select n, d from manual"), "7 8")
}

func TestValuesRoundTrip(t *testing.T) {
	s, conn := newTestSink(t, Config{Mode: Replace})
	c := []sink.Column{
		{Name: "t", Type: sink.TypeText}, {Name: "j", Type: sink.TypeJSONB},
		{Name: "ts", Type: sink.TypeTimestamptz}, {Name: "n", Type: sink.TypeBigint},
		{Name: "d", Type: sink.TypeDouble}, {Name: "b", Type: sink.TypeBoolean},
	}
	when := time.Date(2026, 2, 28, 23, 59, 59, 123456000, time.FixedZone("x", -5*3600))
	doc := `{"name": "zoë ✓ 日本語 🎉", "nested": {"list": [1, 2.5, null, true, "\"quoted\"\n"]}, "big": 12345678901234567890}`
	in := []sink.Row{
		{"ünïcødé ✓ 日本語 🎉 \"quotes\" \\ tab\t newline\n", json.RawMessage(doc), when, int64(math.MaxInt64), math.Inf(1), true},
		{"", json.RawMessage(`[]`), time.Unix(0, 0).UTC(), int64(math.MinInt64), -0.5, false},
		{nil, nil, nil, nil, nil, nil},
		{"nan", json.RawMessage(`"a string"`), when, int64(0), math.NaN(), true},
	}
	deliver(t, s, info("r", c), in)
	rows, err := conn.Query(context.Background(), "select t, j, ts, n, d, b from buckets order by n nulls last")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	order := []int{1, 3, 0, 2} // by n
	for i := 0; rows.Next(); i++ {
		var (
			text  *string
			j     []byte
			ts    *time.Time
			n     *int64
			d     *float64
			b     *bool
			wantR = in[order[i]]
		)
		if err := rows.Scan(&text, &j, &ts, &n, &d, &b); err != nil {
			t.Fatal(err)
		}
		if wantR[0] == nil {
			if text != nil || j != nil || ts != nil || n != nil || d != nil || b != nil {
				t.Errorf("null row came back as %v %s %v %v %v %v", text, j, ts, n, d, b)
			}
			continue
		}
		if *text != wantR[0] {
			t.Errorf("text %q, want %q", *text, wantR[0])
		}
		var gotJ, wantJ any
		json.Unmarshal(j, &gotJ)
		json.Unmarshal(wantR[1].(json.RawMessage), &wantJ)
		if fmt.Sprint(gotJ) != fmt.Sprint(wantJ) {
			t.Errorf("json %s, want %s", j, wantR[1])
		}
		if !ts.Equal(wantR[2].(time.Time)) {
			t.Errorf("timestamp %v, want %v", ts, wantR[2])
		}
		if *n != wantR[3] || *b != wantR[5] {
			t.Errorf("n %d b %v, want %v %v", *n, *b, wantR[3], wantR[5])
		}
		if wd := wantR[4].(float64); *d != wd && !(math.IsNaN(wd) && math.IsNaN(*d)) {
			t.Errorf("double %g, want %g", *d, wd)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s, conn := newTestSink(t, Config{Mode: Replace})
	ctx := context.Background()
	w, err := s.Open(ctx, info("r", cols))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, numbered("a", 10)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	w.Abort(ctx) // twice is fine
	// Even the table creation was rolled back.
	equal(t, "tables", query(t, conn, "select count(*) from pg_tables where tablename = 'buckets'"), "0")
	// And the connection went back to the pool in a usable state.
	deliver(t, s, info("r2", cols), numbered("b", 1))
	equal(t, "rows", query(t, conn, "select arn from buckets"), "b-0")

	// Misuse is an error, never a panic.
	w, err = s.Open(ctx, info("r3", cols))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, numbered("c", 1)); err == nil {
		t.Error("write after commit: no error")
	}
	if err := w.Commit(ctx); err == nil {
		t.Error("second commit: no error")
	}
	if err := w.Abort(ctx); err != nil {
		t.Error(err)
	}
}

// countingSink counts Opens, to prove a retry happened.
type countingSink struct {
	sink.Sink
	opens atomic.Int32
}

func (c *countingSink) Open(ctx context.Context, info sink.ResultInfo) (sink.Writer, error) {
	c.opens.Add(1)
	return c.Sink.Open(ctx, info)
}

// Kill the connection in the middle of a COPY: the previous snapshot must stay intact
// and visible, and the retry must deliver exactly one copy of the new result.
func TestKilledConnectionMidCopy(t *testing.T) {
	for _, mode := range []string{Replace, Append} {
		t.Run(mode, func(t *testing.T) {
			s, conn := newTestSink(t, Config{Mode: mode})
			ctx := context.Background()
			deliver(t, s, info("old", cols), numbered("old", 1000))
			snapshot := func() []string {
				return query(t, conn, "select _spout_run_id, count(*), count(distinct arn) from buckets group by 1 order by 1")
			}
			equal(t, "before", snapshot(), "old 1000 1000")

			counted := &countingSink{Sink: s}
			retrying := sink.Retry(counted, sink.RetryPolicy{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
			w, err := retrying.Open(ctx, info("new", cols))
			if err != nil {
				t.Fatal(err)
			}
			next := 0
			write := func(batches int) {
				for range batches {
					rows := make([]sink.Row, 500)
					for i := range rows {
						rows[i] = sink.Row{fmt.Sprintf("new-%d", next), int64(next)}
						next++
					}
					if err := w.Write(ctx, rows); err != nil {
						t.Fatal(err)
					}
				}
			}
			write(10)

			// The COPY is under way on the server; kill its backend.
			var pid int
			deadline := time.Now().Add(10 * time.Second)
			for ; pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				err := conn.QueryRow(ctx, `select pid from pg_stat_activity
					where datname = current_database() and application_name = 'spout/pg' and query ilike 'copy%'`).Scan(&pid)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					t.Fatal(err)
				}
			}
			if pid == 0 {
				t.Fatal("no COPY in progress on the server")
			}
			equal(t, "during the copy", snapshot(), "old 1000 1000")
			var killed bool
			if err := conn.QueryRow(ctx, "select pg_terminate_backend($1)", pid).Scan(&killed); err != nil || !killed {
				t.Fatalf("pg_terminate_backend: %v, %v", killed, err)
			}
			equal(t, "after the kill", snapshot(), "old 1000 1000")

			write(10) // the writer notices, reopens and replays along the way
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if n := counted.opens.Load(); n != 2 {
				t.Errorf("%d opens: want 2, the first killed and one retry", n)
			}
			if mode == Replace {
				equal(t, "after the retry", snapshot(), "new 10000 10000")
			} else {
				equal(t, "after the retry", snapshot(), "new 10000 10000", "old 1000 1000")
			}
			equal(t, "killed backend", query(t, conn, "select count(*) from pg_stat_activity where pid = $1", pid), "0")
		})
	}
}

func TestConcurrentResultsToOneTable(t *testing.T) {
	s, conn := newTestSink(t, Config{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { deliver(t, s, info(fmt.Sprint("run-", i), cols), numbered("x", 500)) })
	}
	wg.Wait()
	equal(t, "rows", query(t, conn, "select count(*), count(distinct _spout_run_id) from buckets"), "2000 4")
}

func TestBadInput(t *testing.T) {
	t.Setenv("SPOUT_BAD_DSN", "postgres://spout:hunter2@localhost:notaport/db")
	t.Setenv("SPOUT_GOOD_DSN", "postgres://spout:hunter2@127.0.0.1:1/db?connect_timeout=5")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"invalid dsn", Config{DSNEnv: "SPOUT_BAD_DSN"}, `dsn_env: $SPOUT_BAD_DSN is not a valid PostgreSQL connection string`},
		{"unset env", Config{DSNEnv: "SPOUT_NOT_SET"}, `dsn_env: environment variable SPOUT_NOT_SET is not set`},
		{"no dsn_env", Config{}, `dsn_env: required`},
		{"unknown mode", Config{DSNEnv: "SPOUT_GOOD_DSN", Mode: "merge"}, `mode: unknown mode "merge"`},
		{"upsert without key", Config{DSNEnv: "SPOUT_GOOD_DSN", Mode: Upsert}, `key: mode upsert needs the key columns`},
		{"bad template", Config{DSNEnv: "SPOUT_GOOD_DSN", Table: "spout_{{.Query"}, `table: bad template`},
		{"unknown field", Config{DSNEnv: "SPOUT_GOOD_DSN", Table: "{{.Qeury}}"}, `table: table template: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("pg", tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}

	t.Run("unreachable host", func(t *testing.T) {
		s, err := New("pg", Config{DSNEnv: "SPOUT_GOOD_DSN"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Open(context.Background(), info("r", cols))
		if err == nil || !strings.Contains(err.Error(), `postgres sink "pg": connect:`) || sink.IsPermanent(err) {
			t.Fatalf("got %v, want a retryable connect error naming the sink", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	})

	t.Run("from YAML", func(t *testing.T) {
		var doc yaml.Node
		yaml.Unmarshal([]byte("type: postgres\ndsn_env: SPOUT_GOOD_DSN\nmode: apend\n"), &doc)
		_, err := sink.Build("dashboard", &doc, sink.Env{})
		var ce *sink.ConfigError
		if !errors.As(err, &ce) || ce.Line != 3 || ce.Column != 1 || ce.Sink != "dashboard" || !strings.Contains(err.Error(), `line 3:1: sink "dashboard": mode: unknown mode "apend"`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBadResults(t *testing.T) {
	s, _ := newTestSink(t, Config{Mode: Upsert, Key: []string{"id"}})
	ctx := context.Background()
	_, err := s.Open(ctx, info("r", cols))
	if err == nil || !sink.IsPermanent(err) || !strings.Contains(err.Error(), `key column "id" is not in the result of query "buckets"`) {
		t.Errorf("missing key column: %v", err)
	}
	_, err = s.Open(ctx, info("r", []sink.Column{{Name: "id", Type: "money"}}))
	if err == nil || !strings.Contains(err.Error(), `column "id": unknown column type "money"`) {
		t.Errorf("unknown type: %v", err)
	}

	// A value of the wrong type is a permanent failure: retrying cannot fix it.
	s2, _ := newTestSink(t, Config{})
	w, err := s2.Open(ctx, info("r", cols))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	err = w.Write(ctx, []sink.Row{{"a", "not a number"}})
	if err == nil {
		err = w.Commit(ctx)
	}
	if err == nil || !sink.IsPermanent(err) || !strings.Contains(err.Error(), `postgres sink "pg": table "buckets"`) {
		t.Errorf("bad value: %v (permanent %v)", err, sink.IsPermanent(err))
	}
}
