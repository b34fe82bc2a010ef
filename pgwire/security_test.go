package pgwire_test

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/spoutdev/spout/pgwire"
)

// rawStartup dials the server and sends a startup message for the test user, returning
// the connection and a frontend reading the server's answers.
func rawStartup(t *testing.T, s *testServer) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": testUser, "database": "spout"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return conn, fe
}

// TestHugeMessageBeforeLogin: a client that has not logged in cannot make the server
// wait for (and buffer) a message of any length it announces.
func TestHugeMessageBeforeLogin(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	conn, fe := rawStartup(t, s)
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := msg.(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("first answer %T, want AuthenticationSASL", msg)
	}
	// A SASLInitialResponse header announcing 1 GiB, and no body.
	hdr := []byte{'p', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], 1<<30+4)
	if _, err := conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	msg, err = fe.Receive()
	if err != nil {
		t.Fatalf("no answer to a 1 GiB authentication message (the server waits for it): %v", err)
	}
	er, ok := msg.(*pgproto3.ErrorResponse)
	if !ok || er.Severity != "FATAL" || er.Code != "08P01" {
		t.Fatalf("answer %T %+v, want a FATAL 08P01", msg, msg)
	}
}

// TestConnectionLimitBeforeLogin: clients that connect and never log in are bounded too
// (by max connections, apart from the sessions), so they cannot hold every descriptor.
func TestConnectionLimitBeforeLogin(t *testing.T) {
	s := startServer(t, pgwire.Config{MaxConnections: 2})
	var idle []net.Conn
	refused := 0
	for range 3 {
		conn, err := net.Dial("tcp", s.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, conn)
	}
	for _, conn := range idle {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		msg, err := pgproto3.NewFrontend(conn, conn).Receive()
		if err != nil {
			continue // waiting for its startup message, as it should
		}
		if er, ok := msg.(*pgproto3.ErrorResponse); ok && er.Code == "53300" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d of 3 connections that never logged in were refused, want 1 (max connections 2)", refused)
	}
	for _, conn := range idle {
		conn.Close()
	}
	// Once they are gone, a client logs in.
	waitFor(t, func() bool {
		c, err := pgx.Connect(t.Context(), s.dsn())
		if err != nil {
			return false
		}
		c.Close(t.Context())
		return true
	})
}

// serverFirstSalt starts a SCRAM exchange as user and returns the salt the server
// offers.
func serverFirstSalt(t *testing.T, s *testServer, user string) string {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": user, "database": "spout"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := msg.(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("user %s: first answer %T, want AuthenticationSASL", user, msg)
	}
	fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=clientnonce0123456789")})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	cont, ok := msg.(*pgproto3.AuthenticationSASLContinue)
	if !ok {
		t.Fatalf("user %s: answer %T, want AuthenticationSASLContinue", user, msg)
	}
	for _, attr := range strings.Split(string(cont.Data), ",") {
		if v, ok := strings.CutPrefix(attr, "s="); ok {
			return v
		}
	}
	t.Fatalf("user %s: no salt in %q", user, cont.Data)
	return ""
}

// TestUnknownUserLooksKnown: the SCRAM exchange of a user name that does not exist
// looks like that of one that does: the same salt on every attempt, as a real user's.
func TestUnknownUserLooksKnown(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	if a, b := serverFirstSalt(t, s, testUser), serverFirstSalt(t, s, testUser); a != b {
		t.Fatalf("a known user's salt changed between attempts: %s, %s", a, b)
	}
	a, b := serverFirstSalt(t, s, "mallory"), serverFirstSalt(t, s, "mallory")
	if a != b {
		t.Errorf("an unknown user's salt changes between attempts (%s, %s): that tells the user does not exist", a, b)
	}
	if c := serverFirstSalt(t, s, "trudy"); c == a {
		t.Errorf("two unknown users share the salt %s", c)
	}
}

// TestQuerySizeLimitCoversParameters: the query size limit holds for the text the
// parameters are written into, so a large parameter cannot carry a query past it.
func TestQuerySizeLimitCoversParameters(t *testing.T) {
	s := startServer(t, pgwire.Config{MaxQuerySize: 1 << 10})
	c := connect(t, s.dsn())
	var got string
	err := c.QueryRow(t.Context(), "select $1::text", strings.Repeat("x", 4<<10)).Scan(&got)
	if pe := pgErr(t, err); pe.Code != "54000" {
		t.Errorf("a 4 KiB parameter with a 1 KiB limit: %v", pe)
	}
	// The session goes on, and small parameters pass.
	if err := c.QueryRow(t.Context(), "select $1::text", "small").Scan(&got); err != nil || got != "small" {
		t.Errorf("after the refused one: %q %v", got, err)
	}
}

// TestShutdownClosesConnectionsLoggingIn: a client that connected and sends nothing
// does not hold Shutdown up until its login deadline (30 s).
func TestShutdownClosesConnectionsLoggingIn(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	conn, err := net.Dial("tcp", s.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A session works, so the idle connection has been accepted before it.
	connect(t, s.dsn()).Close(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Shutdown waits for a connection that never logged in")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection that never logged in is still open")
	}
}

// TestCatalogRefusesInstanceFunctions: a catalog query cannot call DuckDB's table
// functions beyond the set-returning ones Postgres clients use; enable_logging, the
// one that changes the instance past lock_configuration, left the catalog failing
// every query.
func TestCatalogRefusesInstanceFunctions(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	c := connect(t, s.dsn())
	dir := t.TempDir()
	for _, q := range []string{
		"select version(), * from enable_logging() with ordinality",
		"select version(), * from enable_logging(storage := 'file', storage_path := '" + dir + "') with ordinality",
		"select version(), * from query('select 1') with ordinality",
		"select current_database(), * from duckdb_settings() with ordinality",
	} {
		_, err := c.Exec(t.Context(), q)
		if pe := pgErr(t, err); pe.Code != "42501" {
			t.Errorf("%s: %v", q, pe)
		}
	}
	var n int
	if err := c.QueryRow(t.Context(), "select count(*) from generate_series(1, 3) with ordinality, current_schemas(true)").Scan(&n); err != nil || n != 3 {
		t.Errorf("catalog query after the refused ones: %d %v", n, err)
	}
}

// TestDataModifyingCTEIsRefused: a SELECT whose WITH writes is refused as a write by
// the server itself, not left to whether DuckDB implements it.
func TestDataModifyingCTEIsRefused(t *testing.T) {
	s := startServer(t, pgwire.Config{})
	c := connect(t, s.dsn())
	for _, q := range []string{
		"with x as (delete from test_types returning *) select * from x",
		"with x as (insert into pg_am values (1, 'x', 1, 't') returning 1) select version() from x",
		"with x as (update test_types set name = 'y' returning id) select count(*) from x",
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			_, err := c.Exec(t.Context(), q, mode)
			if pe := pgErr(t, err); pe.Code != "25006" {
				t.Errorf("%s (mode %d): %v", q, mode, pe)
			}
		}
	}
}
