package pgwire_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/pgwire"
)

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func pgErr(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *pgconn.PgError, got %T %v", err, err)
	}
	return pe
}

// TestPgxExtendedProtocol runs pgx's default mode: Parse, Describe, Bind with binary
// parameters and results, Execute, Sync.
func TestPgxExtendedProtocol(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	c := connect(t, s.dsn())
	ctx := t.Context()

	t.Run("typed columns and parameters", func(t *testing.T) {
		rows, err := c.Query(ctx, "select id, name, score, active, created_at, tags from test_types where id > $1 and name <> $2 order by id limit 3", 2, "item-4")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		fds := rows.FieldDescriptions()
		wantOIDs := []uint32{20, 25, 701, 16, 1184, 3802}
		for i, fd := range fds {
			if fd.DataTypeOID != wantOIDs[i] {
				t.Errorf("column %s has OID %d, want %d", fd.Name, fd.DataTypeOID, wantOIDs[i])
			}
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var name *string
			var score float64
			var active bool
			var created time.Time
			var tags map[string]any
			if err := rows.Scan(&id, &name, &score, &active, &created, &tags); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			// The engine's own values, compared with what came over the wire.
			want, err := engine(t).Query(ctx, "select score, active, created_at from test_types where id = "+strconv.FormatInt(id, 10))
			if err != nil {
				t.Fatal(err)
			}
			if !want.Next() {
				t.Fatalf("engine has no row %d", id)
			}
			v, _ := want.Values()
			want.Close()
			if v[0] != score || v[1] != active || !v[2].(time.Time).Equal(created) {
				t.Errorf("row %d: got %v %v %v, engine %v", id, score, active, created, v)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 || ids[0] != 3 || ids[1] != 5 || ids[2] != 6 {
			t.Errorf("ids = %v, want [3 5 6] (id > 2, item-4 left out)", ids)
		}
	})

	t.Run("a required qual from a parameter", func(t *testing.T) {
		var n int64
		if err := c.QueryRow(ctx, "select count(*) from test_required where kind = $1", "a").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Errorf("count = %d, want 5", n)
		}
	})

	t.Run("a cast parameter keeps its type", func(t *testing.T) {
		var got time.Time
		ts := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		if err := c.QueryRow(ctx, "select max(created_at) from test_types where created_at < $1::timestamptz", ts).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(ts.AddDate(0, 0, -1)) {
			t.Errorf("max = %v, want %v", got, ts.AddDate(0, 0, -1))
		}
	})

	t.Run("an error has its SQLSTATE and position", func(t *testing.T) {
		_, err := c.Exec(ctx, "select id, nope from test_types where id = $1", 1)
		pe := pgErr(t, err)
		if pe.Code != "42703" || pe.Position != int32(strings.Index("select id, nope from test_types where id = $1", "nope")+1) {
			t.Errorf("code %s position %d: %v", pe.Code, pe.Position, pe)
		}
		// The session goes on after an error.
		var one int
		if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("after the error: %v %d", err, one)
		}
	})

	t.Run("a write is refused with 25006", func(t *testing.T) {
		for _, q := range []string{"insert into test_types (id) values (1)", "create table t (a int)", "copy test_types to stdout", "select * into t from test_types"} {
			_, err := c.Exec(ctx, q)
			if pe := pgErr(t, err); pe.Code != "25006" {
				t.Errorf("%s: %v", q, pe)
			}
		}
	})

	t.Run("SET, SHOW and catalog functions", func(t *testing.T) {
		if _, err := c.Exec(ctx, "SET application_name = 'grafana'"); err != nil {
			t.Fatal(err)
		}
		var app, schema, db, user, version string
		if err := c.QueryRow(ctx, "SHOW application_name").Scan(&app); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "select current_schema(), current_database(), current_user, version()").Scan(&schema, &db, &user, &version); err != nil {
			t.Fatal(err)
		}
		if app != "grafana" || schema != "test" || db != "spout" || user != testUser || !strings.HasPrefix(version, "PostgreSQL 15") {
			t.Errorf("got %q %q %q %q %q", app, schema, db, user, version)
		}
		if _, err := c.Exec(ctx, "SET search_path = slow, test"); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "select current_schema()").Scan(&schema); err != nil || schema != "slow" {
			t.Errorf("after SET search_path: %q %v", schema, err)
		}
	})
}

// TestDatabaseSQL uses database/sql with pgx's stdlib driver, as Go BI backends
// (Grafana's among them) do.
func TestDatabaseSQL(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	db, err := sql.Open("pgx", s.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), "select region, count(*) from test_optional where size >= $1 group by region order by region", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		got[r] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// test_optional: size is i*10 for i 1..20, region alternates.
	if got["eu-west-1"] != 6 || got["us-east-1"] != 5 {
		t.Errorf("got %v, want eu-west-1 6, us-east-1 5", got)
	}
	tx, err := db.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(t.Context(), "select count(*) from test_types").Scan(&n); err != nil || n != 20 {
		t.Errorf("in a transaction: %d %v", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: each client gets a clear error, and the server keeps serving others.
func TestBadInput(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	ok := connect(t, s.dsn())
	stillServes := func(t *testing.T) {
		t.Helper()
		var n int
		if err := ok.QueryRow(t.Context(), "select count(*) from test_types").Scan(&n); err != nil || n != 20 {
			t.Fatalf("the other session: %d %v", n, err)
		}
	}

	t.Run("wrong password", func(t *testing.T) {
		_, err := pgx.Connect(t.Context(), s.dsn("password=wrong"))
		if pe := pgErr(t, err); pe.Code != "28P01" {
			t.Errorf("%v", pe)
		}
		_, err = pgx.Connect(t.Context(), s.dsn("user=mallory"))
		if pe := pgErr(t, err); pe.Code != "28P01" || !strings.Contains(pe.Message, `"mallory"`) {
			t.Errorf("unknown user: %v", pe)
		}
		stillServes(t)
	})

	t.Run("wrong database", func(t *testing.T) {
		_, err := pgx.Connect(t.Context(), s.dsn("dbname=postgres"))
		if pe := pgErr(t, err); pe.Code != "3D000" {
			t.Errorf("%v", pe)
		}
	})

	t.Run("a 10 MB query", func(t *testing.T) {
		c := connect(t, s.dsn())
		_, err := c.Exec(t.Context(), "select '"+strings.Repeat("x", 10<<20)+"'")
		if pe := pgErr(t, err); pe.Code != "54000" {
			t.Errorf("%v", pe)
		}
		// The session itself goes on.
		var one int
		if err := c.QueryRow(t.Context(), "select 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("after the long query: %d %v", one, err)
		}
		stillServes(t)
	})

	t.Run("a client that leaves mid-result", func(t *testing.T) {
		c := connect(t, s.dsn())
		rows, err := c.Query(t.Context(), "select id, name from big.test_big")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10 && rows.Next(); i++ {
		}
		// Drop the connection under pgx's feet.
		c.PgConn().Conn().Close()
		rows.Close()
		deadline := time.Now().Add(10 * time.Second)
		for s.Sessions() > 1 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := s.Sessions(); n != 1 {
			t.Errorf("%d sessions open, want 1: the left session's query is still running", n)
		}
		stillServes(t)
	})

	t.Run("a garbage startup packet", func(t *testing.T) {
		conn, err := net.Dial("tcp", s.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 100)
		if _, err := conn.Read(buf); err == nil {
			t.Errorf("the server answered an HTTP request")
		}
		conn.Close()
		stillServes(t)
	})
}

func TestStatementTimeoutAndCancel(t *testing.T) {
	s := startServer(t, pgwire.Config{StatementTimeout: 500 * time.Millisecond})
	c := connect(t, s.dsn())

	testplugin.Calls.Reset()
	start := time.Now()
	_, err := c.Exec(t.Context(), "select count(*) from slow.test_slow")
	if pe := pgErr(t, err); pe.Code != "57014" || !strings.Contains(pe.Message, "statement timeout") {
		t.Errorf("%v", pe)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}

	// A session cannot lift the server's timeout, by SET or in its startup options.
	for _, set := range []string{"SET statement_timeout = 0", "SET statement_timeout = '1h'"} {
		if _, err := c.Exec(t.Context(), set); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Exec(t.Context(), "select count(*) from slow.test_slow")
		if pe := pgErr(t, err); pe.Code != "57014" || time.Since(start) > 5*time.Second {
			t.Errorf("after %s: %v after %s", set, pe, time.Since(start))
		}
	}
	lifted := connect(t, s.dsn("options='-c statement_timeout=0'"))
	_, err = lifted.Exec(t.Context(), "select count(*) from slow.test_slow")
	if pe := pgErr(t, err); pe.Code != "57014" {
		t.Errorf("startup statement_timeout=0: %v", pe)
	}

	// pgx sends a CancelRequest when the query's context ends (here before the
	// server's timeout would).
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Exec(ctx, "select count(*) from slow.test_slow")
	if err == nil {
		t.Fatal("the query was not cancelled")
	}
	c2 := connect(t, s.dsn())
	var n int
	if err := c2.QueryRow(t.Context(), "select count(*) from test_types").Scan(&n); err != nil || n != 20 {
		t.Errorf("after the cancel: %d %v", n, err)
	}
}

func TestMaxConnections(t *testing.T) {
	s := startServer(t, pgwire.Config{MaxConnections: 2})
	connect(t, s.dsn())
	connect(t, s.dsn())
	_, err := pgx.Connect(t.Context(), s.dsn())
	if pe := pgErr(t, err); pe.Code != "53300" {
		t.Errorf("%v", pe)
	}
}
