package pgwire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/pgwire"
	"github.com/spoutdev/spout/query"
)

const (
	testUser     = "spout"
	testPassword = "s3cret pässword"
	slowDelay    = 200 * time.Millisecond
)

var (
	engOnce sync.Once
	eng     *query.Engine
	engErr  error
)

// engine is the engine the tests share: the test plugin under three connections.
func engine(t testing.TB) *query.Engine {
	t.Helper()
	engOnce.Do(func() {
		eng, engErr = query.New(context.Background(),
			query.WithPlugin("test", testplugin.Plugin),
			query.WithConnection("test", "test", "rows = 20\naccount_id = \"123456789012\""),
			query.WithConnection("slow", "test", fmt.Sprintf("delay = %q", slowDelay.String())),
			query.WithConnection("big", "test", "big_rows = 100000"),
			query.WithLogger(quietLogger()),
		)
	})
	if engErr != nil {
		t.Fatalf("query.New: %v", engErr)
	}
	return eng
}

func TestMain(m *testing.M) {
	code := m.Run()
	if eng != nil {
		eng.Close()
	}
	os.Exit(code)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// testServer is a server on a loopback port, shut down when the test ends.
type testServer struct {
	*pgwire.Server
	addr *net.TCPAddr
	log  *logBuffer
}

// logBuffer collects the server's debug log, for recording what clients send.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func startServer(t testing.TB, cfg pgwire.Config) *testServer {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = []pgwire.User{{Name: testUser, Password: testPassword}}
	}
	lb := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := pgwire.New(context.Background(), engine(t), cfg)
	if err != nil {
		t.Fatalf("pgwire.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, pgwire.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: srv, addr: ln.Addr().(*net.TCPAddr), log: lb}
}

// dsn is a libpq/pgx connection string for the server.
func (s *testServer) dsn(extra ...string) string {
	parts := []string{"host=127.0.0.1", fmt.Sprintf("port=%d", s.addr.Port), "user=" + testUser, "dbname=spout", "sslmode=disable", "password='" + strings.ReplaceAll(testPassword, "'", `\'`) + "'"}
	// Later settings win in libpq's and pgx's parsers.
	return strings.Join(append(parts, extra...), " ")
}

// psqlPath is the psql binary the tests drive.
func psqlPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("psql not found (CI installs postgresql-client)")
		}
		t.Skip("psql not found on PATH; install postgresql-client")
	}
	return p
}

// psql runs psql with args against the server and returns its stdout and stderr.
func (s *testServer) psql(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	return psqlDSN(t, s.dsn(), args...)
}

func psqlDSN(t testing.TB, dsn string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psqlPath(t), append([]string{"-X", "-v", "ON_ERROR_STOP=1", dsn}, args...)...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}
