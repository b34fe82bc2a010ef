package query_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// position returns the 1-based line and character column of the first occurrence of marker
// in sql (the place an error should point at).
func position(t *testing.T, sql, marker string) (line, col int) {
	t.Helper()
	i := strings.Index(sql, marker)
	if i < 0 {
		t.Fatalf("marker %q not in %q", marker, sql)
	}
	before := sql[:i]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

func TestMissingRequiredQual(t *testing.T) {
	eng := engine(t)

	t.Run("missing", func(t *testing.T) {
		sql := "select kind, n\n  from test_required\n where n > 1"
		testplugin.Calls.Reset()
		for _, run := range []struct {
			name string
			f    func() error
		}{
			{"Query", func() error { _, err := queryErr(t, eng, sql); return err }},
			{"Plan", func() error { _, err := eng.Plan(t.Context(), sql); return err }},
		} {
			err := run.f()
			var mq *query.MissingQualError
			if !errors.As(err, &mq) {
				t.Fatalf("%s: err = %T %v, want *query.MissingQualError", run.name, err, err)
			}
			if mq.Table != "test_required" || !slices.Equal(mq.Columns, []string{"kind"}) {
				t.Errorf("%s: error names table %q columns %v, want test_required [kind]", run.name, mq.Table, mq.Columns)
			}
			line, col := position(t, sql, "test_required")
			if mq.Line != line || mq.Column != col {
				t.Errorf("%s: error at %d:%d, want the table reference at %d:%d", run.name, mq.Line, mq.Column, line, col)
			}
			if msg := err.Error(); !strings.Contains(msg, "test_required") || !strings.Contains(msg, "kind") {
				t.Errorf("%s: message %q does not name the table and the column", run.name, msg)
			}
		}
		if calls := testplugin.Calls.All(); len(calls) != 0 {
			t.Errorf("the plugin was called: %+v", calls)
		}
	})

	t.Run("missing in a join", func(t *testing.T) {
		testplugin.Calls.Reset()
		_, err := queryErr(t, eng, "select t.id from test_types t join test_required r on r.n = t.id")
		var mq *query.MissingQualError
		if !errors.As(err, &mq) || mq.Table != "test_required" {
			t.Fatalf("err = %v, want *query.MissingQualError for test_required", err)
		}
		if calls := testplugin.Calls.All(); len(calls) != 0 {
			t.Errorf("the plugin was called: %+v", calls)
		}
	})

	ok := []struct {
		name  string
		sql   string
		kinds []string
	}{
		{"equals", "select kind, label from test_required where kind = 'a'", []string{"a"}},
		{"in list", "select kind, label from test_required where kind in ('a', 'b')", []string{"a", "b"}},
		{"constant on the left", "select kind, label from test_required where 'c' = kind", []string{"c"}},
		{"join on constant", "select r.kind, r.label from test_types t join test_required r on r.kind = 'x' and r.n = t.id", []string{"x"}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			rows, _ := collect(t, eng, tt.sql)
			var want []string
			for _, k := range tt.kinds {
				for n := 1; n <= 5; n++ {
					if strings.Contains(tt.sql, "r.n = t.id") && int64(n) > typesRows {
						continue
					}
					want = append(want, fmt.Sprintf("%s-%d", k, n))
				}
			}
			slices.Sort(want)
			if got := column[string](t, rows, 1); !slices.Equal(got, want) {
				t.Errorf("labels = %v, want %v", got, want)
			}
			// Every call carries its kind (a join may scan the table more than once).
			var calls []string
			for _, k := range tt.kinds {
				calls = append(calls, "list [kind = "+k+"]")
			}
			if got := slices.Compact(callSets("test_required")); !slices.Equal(got, calls) {
				t.Errorf("calls = %q, want %q", got, calls)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name   string
		sql    string
		marker string // where the error points
	}{
		{"multi-line", "select id,\n       name\nfrom test_types\nwhere id = = 3", "= 3"},
		{"first line", "selec id from test_types", "selec"},
		{"non-ascii before the error", "select 'héllo' as x,\n  'ü' as y frm test_types", "frm"},
		{"unterminated string", "select id\nfrom test_types\nwhere name = 'abc", "'abc"},
	}
	eng := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, f := range map[string]func() error{
				"Query": func() error { _, err := eng.Query(t.Context(), tt.sql); return err },
				"Plan":  func() error { _, err := eng.Plan(t.Context(), tt.sql); return err },
			} {
				err := f()
				var se *query.SQLError
				if !errors.As(err, &se) {
					t.Fatalf("%s: err = %T %v, want *query.SQLError", name, err, err)
				}
				line, col := position(t, tt.sql, tt.marker)
				if se.Line != line || se.Column != col {
					t.Errorf("%s(%q): error at %d:%d, want %d:%d (%v)", name, tt.sql, se.Line, se.Column, line, col, err)
				}
				if !strings.HasPrefix(err.Error(), fmt.Sprintf("%d:%d: ", line, col)) {
					t.Errorf("%s: message %q does not start with line:column", name, err)
				}
				if se.Offset < 1 || se.Offset > len(tt.sql)+1 {
					t.Errorf("%s: Offset = %d, outside the query text", name, se.Offset)
				}
			}
		})
	}
}

func TestUnknownTable(t *testing.T) {
	eng := engine(t)
	tests := []struct {
		name    string
		sql     string
		marker  string
		mention []string
	}{
		{"typo", "select id\nfrom test_typs", "test_typs", []string{`"test_typs"`, `"test_types"`}},
		{"typo in a join", "select 1 from test_types t\n  join test_optinal o on true", "test_optinal", []string{`"test_optional"`}},
		{"typo with connection", "select * from big.test_bigg", "big.test_bigg", []string{`"test_big"`}},
		{"unknown connection", "select * from nope.test_types", "nope.test_types", []string{"nope"}},
		{"connection typo", "select * from bigg.test_big", "bigg.test_big", []string{`"big"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eng.Query(t.Context(), tt.sql)
			var se *query.SQLError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *query.SQLError", err, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
			line, col := position(t, tt.sql, tt.marker)
			if se.Line != line || se.Column != col {
				t.Errorf("error at %d:%d, want %d:%d", se.Line, se.Column, line, col)
			}
		})
	}
}

func TestUnknownColumn(t *testing.T) {
	eng := engine(t)
	tests := []struct {
		name    string
		sql     string
		marker  string
		mention []string
		bug     string
	}{
		{"select list", "select id,\n  nme\nfrom test_types", "nme", []string{"nme", `"name"`}, ""},
		{"where", "select id\nfrom test_types\nwhere scor > 1", "scor", []string{"scor", `"score"`}, ""},
		// Like Postgres, a qualified reference is located at its qualifier.
		{"where through an alias", "select t.id\nfrom test_types t\nwhere t.scor > 1", "t.scor", []string{"scor", `"score"`}, ""},
		{"join side", "select o.sise from test_types t join test_optional o on o.size = t.id", "o.sise", []string{"sise", `"size"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			testplugin.Calls.Reset()
			_, err := eng.Query(t.Context(), tt.sql)
			var se *query.SQLError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *query.SQLError", err, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
			line, col := position(t, tt.sql, tt.marker)
			if se.Line != line || se.Column != col {
				t.Errorf("error at %d:%d, want %d:%d (%v)", se.Line, se.Column, line, col, err)
			}
			for _, internal := range []string{"spout_scan", "spout_emit", "spout_result"} {
				if strings.Contains(err.Error(), internal) {
					t.Errorf("error %q leaks the rewritten query (%s)", err, internal)
				}
			}
			if calls := testplugin.Calls.All(); len(calls) != 0 {
				t.Errorf("a query that does not bind called the plugin: %+v", calls)
			}
		})
	}
}

func TestOnlySelect(t *testing.T) {
	eng := engine(t)
	tests := []struct {
		sql     string
		mention string
		marker  string
		bug     string
	}{
		{"delete from test_types", "only SELECT", "delete", ""},
		{"update test_types set name = 'x'", "only SELECT", "update", ""},
		{"insert into test_types (id) values (1)", "only SELECT", "insert", ""},
		{"set x = 1", "only SELECT", "set", ""},
		{"create table x (a int)", "only SELECT", "create", ""},
		{"drop table test_types", "only SELECT", "drop", ""},
		{"select * into t2 from test_types", "SELECT INTO", "select", ""},
		{"select 1; select 2", "one statement", "select 2", ""},
		{"select 1;\nselect 2", "one statement", "select 2", ""},
		{"select id from test_types; delete from test_types", "one statement", "delete", ""},
		{"select 1;", "", "", ""},
		{"", "empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			testplugin.Calls.Reset()
			if tt.mention == "" {
				// A trailing semicolon is one statement.
				if _, err := queryErr(t, eng, tt.sql); err != nil {
					t.Fatalf("%q: %v", tt.sql, err)
				}
				return
			}
			_, err := eng.Query(t.Context(), tt.sql)
			var se *query.SQLError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *query.SQLError", err, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not say %q", err, tt.mention)
			}
			if tt.marker != "" {
				line, col := position(t, tt.sql, tt.marker)
				if se.Line != line || se.Column != col {
					t.Errorf("error at %d:%d, want %d:%d", se.Line, se.Column, line, col)
				}
			}
			if calls := testplugin.Calls.All(); len(calls) != 0 {
				t.Errorf("the plugin was called: %+v", calls)
			}
		})
	}
}

// TestSandbox: a query reads plugin tables and nothing else. Every statement is refused with
// an error that says why, and nothing is written. Reading settings (current_setting,
// duckdb_settings) is harmless and may be allowed.
func TestSandbox(t *testing.T) {
	eng := engine(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	db := filepath.Join(dir, "x.db")
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return strings.ReplaceAll(s, "'", "''") }
	// File and network access is refused by DuckDB's sandbox ("... disabled by
	// configuration") or, earlier, by the rewrite ("... not allowed").
	refusedFile := []string{"disabled", "not allowed"}
	tests := []struct {
		sql string
		// any of these in the error
		mention []string
	}{
		{"select * from read_csv('/etc/passwd')", refusedFile},
		{fmt.Sprintf("select * from read_csv('%s')", secret), refusedFile},
		{fmt.Sprintf("select * from read_csv_auto('%s')", secret), refusedFile},
		{"select * from read_text('/etc/hostname')", refusedFile},
		{"select * from read_blob('/etc/hostname')", refusedFile},
		{"select * from read_json('/etc/hostname')", refusedFile},
		{fmt.Sprintf("select * from read_parquet('%s')", secret), refusedFile},
		{"select * from sniff_csv('/etc/passwd')", refusedFile},
		{"select * from read_csv('https://example.com/x.csv')", refusedFile},
		{"select * from test_types t, read_csv('/etc/passwd') p", refusedFile},
		{"with p as (select * from read_csv('/etc/passwd')) select * from p", refusedFile},
		{"select * from \"/etc/passwd\"", []string{"does not exist"}},
		{fmt.Sprintf("copy (select 1) to '%s'", out), []string{"only SELECT"}},
		{fmt.Sprintf("select * from query('copy (select 42) to ''%s''')", q(out)), []string{"SELECT", "not allowed"}},
		{fmt.Sprintf("select * from query('attach ''%s''')", q(db)), []string{"SELECT", "not allowed"}},
		{"select * from query('set threads = 1')", []string{"SELECT", "not allowed"}},
		{"select * from query('select * from read_csv(''/etc/passwd'')')", refusedFile},
		{"install httpfs", []string{"syntax error"}},
		{"load httpfs", []string{"syntax error"}},
		{"load 'httpfs'", []string{"only SELECT"}},
		{fmt.Sprintf("attach '%s'", db), []string{"syntax error"}},
		{fmt.Sprintf("attach '%s' as x", db), []string{"syntax error"}},
		{fmt.Sprintf("export database '%s'", dir), []string{"syntax error"}},
		{"set threads = 1", []string{"only SELECT"}},
		{"set global enable_external_access = true", []string{"only SELECT", "syntax error"}},
		{"reset all", []string{"only SELECT"}},
		{"pragma version", []string{"syntax error"}},
		{"pragma enable_profiling", []string{"syntax error"}},
		{"checkpoint", []string{"only SELECT"}},
		{"select * from spout_scan('s1')", []string{"internal"}},
		{"select * from read_parquet('s3://bucket/key.parquet')", refusedFile},
		{"select getenv('HOME')", []string{"not allowed", "does not exist", "not supported"}},
		// glob is Steampipe's glob-to-LIKE function here (see the compat rules); in FROM
		// it never reaches DuckDB's file glob.
		{"select * from glob('/etc/*')", []string{"disabled", "not allowed", "syntax error"}},
		{"select * from query_table('test_types')", []string{"not allowed", "does not exist"}},
		// Logging is the instance's configuration (lock_configuration does not cover it);
		// with a file storage DuckDB's sandbox refuses, but every later query fails and
		// closing the database aborts the process. WITH ORDINALITY keeps the call a table
		// function.
		{"select * from enable_logging() with ordinality", []string{"not allowed"}},
		{fmt.Sprintf("select * from enable_logging(storage := 'file', storage_path := '%s') with ordinality", q(dir)), []string{"not allowed"}},
		{"select * from disable_logging() with ordinality", []string{"not allowed"}},
		{"select * from truncate_duckdb_logs() with ordinality", []string{"not allowed"}},
		{"select * from json_execute_serialized_sql('{}') with ordinality", []string{"not allowed"}},
		{"select * from query_table('duckdb_settings')", []string{"not allowed", "does not exist"}},
		// Postgres's grammar has no ATTACH: the smuggled statement fails to parse, before
		// the first one runs.
		{fmt.Sprintf("select 1; attach '%s' as x", db), []string{"one statement", "syntax error"}},
		{"select 1; set threads = 1", []string{"one statement"}},
		{fmt.Sprintf("select 1 /* ; */; copy (select 1) to '%s'", out), []string{"one statement"}},
		{"with g as (select * from glob('/etc/*')) select * from g", []string{"disabled", "not allowed", "syntax error"}},
		{"select * from (select * from read_parquet('s3://bucket/key.parquet')) p", refusedFile},
		{"select * from test_types where name in (select file from glob('/etc/*'))", []string{"disabled", "not allowed", "syntax error"}},
		{"select * from test_types where name = (select getenv('HOME'))", []string{"not allowed", "does not exist", "not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			n, err := queryErr(t, eng, tt.sql)
			if err == nil {
				t.Fatalf("%s: ran (%d rows), want it refused", tt.sql, n)
			}
			found := false
			for _, m := range tt.mention {
				if strings.Contains(err.Error(), m) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: error %q mentions none of %q", tt.sql, err, tt.mention)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "secret.csv" {
			t.Errorf("a refused statement wrote %s", e.Name())
		}
	}

	// The lock holds: the settings that keep the sandbox shut are in force and cannot be
	// changed. Reading settings is harmless and allowed.
	rows, _ := collect(t, eng, `select current_setting('enable_external_access'), current_setting('lock_configuration'),
		current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')`)
	if len(rows) != 1 || fmt.Sprint(rows[0]) != "[false true false false]" {
		t.Errorf("sandbox settings = %v, want [false true false false]", rows)
	}
	// duckdb_settings() may be refused like every other DuckDB table function; if it runs,
	// it must show the same.
	if rows, err := eng.Query(t.Context(), "select name, value from duckdb_settings() where name = 'enable_external_access'"); err == nil {
		var got [][]any
		for rows.Next() {
			v, _ := rows.Values()
			got = append(got, v)
		}
		rows.Close()
		if len(got) != 1 || got[0][1] != "false" {
			t.Errorf("duckdb_settings() = %v, want enable_external_access false", got)
		}
	}
}

func TestPluginError(t *testing.T) {
	eng := engine(t)
	for _, sql := range []string{
		"select * from test_error",
		"select count(*) from test_error",
		"select id from test_error order by id",
		"select t.id from test_types t join test_error e on e.id = t.id",
	} {
		t.Run(sql, func(t *testing.T) {
			testplugin.Calls.Reset()
			_, err := queryErr(t, eng, sql)
			var pe *query.PluginError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %T %v, want *query.PluginError", err, err)
			}
			if pe.Connection != "test" || pe.Table != "test_error" || pe.Plugin != "test" {
				t.Errorf("PluginError = {Plugin %q Connection %q Table %q}, want test/test/test_error", pe.Plugin, pe.Connection, pe.Table)
			}
			msg := err.Error()
			for _, want := range []string{"test_error", "simulated API failure", "test"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if len(testplugin.Calls.ForTable("test_error")) == 0 {
				t.Errorf("the plugin recorded no call of test_error")
			}
		})
	}

	// A failing connection: every call of the connection fails, gets included.
	failing := newEngine(t, query.WithConnection("broken", "test", "fail = true"))
	for _, sql := range []string{"select id from test_types", "select id from test_types where id = 1"} {
		_, err := queryErr(t, failing, sql)
		var pe *query.PluginError
		if !errors.As(err, &pe) || pe.Connection != "broken" || !strings.Contains(err.Error(), "configured to fail") {
			t.Errorf("%s: err = %v, want a *query.PluginError of connection broken", sql, err)
		}
	}
}

// TestClosedEngine: a closed engine refuses work with ErrClosed and closes twice safely.
func TestClosedEngine(t *testing.T) {
	eng := newEngine(t, query.WithConnection("test", "test", "rows = 3"))
	if err := eng.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := eng.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := eng.Query(t.Context(), "select 1"); !errors.Is(err, query.ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if _, err := eng.Plan(t.Context(), "select 1"); !errors.Is(err, query.ErrClosed) {
		t.Errorf("Plan after Close: %v, want ErrClosed", err)
	}
}

// TestBadConfig: a connection whose config does not decode fails New with its name.
func TestBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		opts    []query.Option
		mention string
	}{
		{"config does not decode", []query.Option{query.WithConnection("bad", "test", `rows = "many"`)}, "bad"},
		{"unregistered plugin", []query.Option{query.WithConnection("x", "nope", "")}, "nope"},
		{"bad connection name", []query.Option{query.WithConnection("Bad-Name", "test", "")}, "Bad-Name"},
		{"duplicate connection", []query.Option{query.WithConnection("a", "test", ""), query.WithConnection("a", "test", "")}, "twice"},
		{"aggregator without members", []query.Option{query.WithConnection("a", "test", ""), query.WithAggregator("all", "test", "zz*")}, "zz*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]query.Option{query.WithPlugin("test", testplugin.Plugin), query.WithLogger(quietLogger())}, tt.opts...)
			eng, err := query.New(t.Context(), opts...)
			if err == nil {
				eng.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}
