package pgtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestEachTestGetsItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("same DSN twice: %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	if _, err := ca.Exec(ctx, "create table t (x text); insert into t values ('ünï ✓')"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := ca.QueryRow(ctx, "select x from t").Scan(&got); err != nil || got != "ünï ✓" {
		t.Fatalf("got %q, %v", got, err)
	}
	var n int
	if err := cb.QueryRow(ctx, "select count(*) from pg_tables where tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Errorf("second database sees the first one's table (%d, %v)", n, err)
	}
	var enc string
	cb.QueryRow(ctx, "show server_encoding").Scan(&enc)
	if enc != "UTF8" {
		t.Errorf("server encoding %s", enc)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := map[string]string{
		"postgres://u:p@h:5432/orig?sslmode=disable": "postgres://u:p@h:5432/x?sslmode=disable",
		"host=h user=u dbname=orig":                  "host=h user=u dbname=orig dbname=x",
	}
	for in, want := range tests {
		got, err := withDatabase(in, "x")
		if err != nil || got != want {
			t.Errorf("%s: got %s, %v", in, got, err)
		}
		// pgx agrees on which database that is.
		cfg, err := pgx.ParseConfig(got)
		if err != nil || cfg.Database != "x" {
			t.Errorf("%s: pgx reads database %q, %v", got, cfg.Database, err)
		}
	}
}

// stubTB records how a test was stopped.
type stubTB struct {
	testing.TB
	how string
}

func (s *stubTB) Helper() {}
func (s *stubTB) Skipf(format string, args ...any) {
	s.how = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (s *stubTB) Fatalf(format string, args ...any) {
	s.how = "fail: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinariesSkipOrFail(t *testing.T) {
	tests := []struct {
		err  error
		ci   bool
		want string
	}{
		{nil, true, ""},
		{errNoBinaries, false, "skip: pgtest: PostgreSQL server binaries"},
		{errNoBinaries, true, "fail: pgtest: PostgreSQL server binaries"},
		{errors.New("initdb: boom"), false, "fail: pgtest: start PostgreSQL: initdb: boom"},
	}
	for _, tt := range tests {
		tb := &stubTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); require(tb, tt.err, tt.ci) }()
		<-done
		if len(tb.how) < len(tt.want) || tb.how[:len(tt.want)] != tt.want {
			t.Errorf("err %v, CI %v: got %q, want %q...", tt.err, tt.ci, tb.how, tt.want)
		}
	}
}
