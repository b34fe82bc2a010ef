package pgwire_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/pgwire"
)

// The catalog queries clients send are recorded under testdata/introspection, one file
// per client, statements separated by a line ";;". TestPsqlIntrospection re-records
// psql's with SPOUT_RECORD=1 (after a psql upgrade, say).

var oidLiteral = regexp.MustCompile(`'\d{3,}'`)

// catalogQueries are the catalog queries in the server's debug log, with table OIDs
// (which depend on the schemas) written as '<oid>'.
func catalogQueries(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(log, "\n") {
		var rec struct{ Msg, SQL string }
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "catalog query" {
			continue
		}
		out = append(out, oidLiteral.ReplaceAllString(strings.TrimSpace(rec.SQL), "'<oid>'"))
	}
	return out
}

func readRecord(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "introspection", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range strings.Split(string(b), "\n;;\n") {
		var lines []string
		for _, l := range strings.Split(q, "\n") {
			if !strings.HasPrefix(l, "-- ") {
				lines = append(lines, l)
			}
		}
		if q := strings.TrimSpace(strings.Join(lines, "\n")); q != "" {
			out = append(out, q)
		}
	}
	return out
}

func TestPsqlIntrospection(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	if _, errOut, err := s.psql(t, "-c", `\dt`, "-c", `\d test_types`); err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	got := catalogQueries(t, s.log.String())
	file := filepath.Join("testdata", "introspection", "psql15.sql")
	if os.Getenv("SPOUT_RECORD") != "" {
		header := "-- What psql 15 sends for \\dt and \\d test_types (recorded by TestPsqlIntrospection).\n"
		if err := os.WriteFile(file, []byte(header+strings.Join(got, "\n;;\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readRecord(t, "psql15.sql")
	if strings.Join(got, "\n;;\n") != strings.Join(want, "\n;;\n") {
		t.Errorf("psql sent other catalog queries than %s records (a new psql? re-record with SPOUT_RECORD=1):\n%s", file, strings.Join(got, "\n;;\n"))
	}
	if len(got) < 5 {
		t.Errorf("only %d catalog queries recorded", len(got))
	}
}

// TestRecordedIntrospection replays every recorded client query, with the simple
// protocol as psql sends them, and checks the answers come from the plugin schemas.
func TestRecordedIntrospection(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	c := connect(t, s.dsn())
	for _, file := range []string{"psql15.sql", "grafana.sql"} {
		for _, q := range readRecord(t, file) {
			q = strings.ReplaceAll(q, "'<oid>'", "(select oid from pg_catalog.pg_class where relname = 'test_types' limit 1)")
			rows, err := c.Query(t.Context(), q, pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				t.Errorf("%s: %v\n%s", file, err, q)
				continue
			}
			vals, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
			if err != nil {
				t.Errorf("%s: %v\n%s", file, err, q)
			}
			t.Logf("%s: %d rows: %.200v", file, len(vals), vals)
		}
	}

	t.Run("grafana's table and column lists", func(t *testing.T) {
		queries := readRecord(t, "grafana.sql")
		rows, err := c.Query(t.Context(), queries[3])
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		// Every connection is on the default search path, so each schema's tables are
		// listed, as Postgres would.
		var want []string
		for _, sc := range engine(t).Schemas() {
			for _, tb := range sc.Tables {
				want = append(want, tb.Name)
			}
		}
		slices.Sort(want)
		slices.Sort(tables)
		if strings.Join(tables, ",") != strings.Join(want, ",") {
			t.Errorf("tables %v, want %v", tables, want)
		}
		type col struct{ Name, Type string }
		rows, err = c.Query(t.Context(), queries[4])
		if err != nil {
			t.Fatal(err)
		}
		cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[col])
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]string{}
		for _, cl := range cols {
			types[cl.Name] = cl.Type
		}
		if types["tags"] != "jsonb" || types["created_at"] != "timestamp with time zone" || types["id"] != "bigint" || types["score"] != "double precision" {
			t.Errorf("columns %v", cols)
		}
		var version int
		if err := c.QueryRow(t.Context(), queries[1]).Scan(&version); err != nil || version != 1500 {
			t.Errorf("version %d %v", version, err)
		}
	})

	t.Run("pgx sends no catalog query of its own", func(t *testing.T) {
		s := startServer(t, pgwire.Config{})
		c := connect(t, s.dsn())
		var n int64
		if err := c.QueryRow(t.Context(), "select count(*) from test_types where id > $1", 3).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got := catalogQueries(t, s.log.String()); len(got) != 0 {
			t.Errorf("pgx sent %q", got)
		}
	})
}
