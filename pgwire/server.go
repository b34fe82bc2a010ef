// Package pgwire serves a query.Engine over the PostgreSQL v3 wire protocol, so that psql,
// pgx, JDBC, node-postgres and BI tools such as Grafana can query plugin tables the way
// they query Steampipe's service.
//
// The protocol's messages are encoded by pgx's pgproto3; this package holds the session
// state machine (startup, TLS, SCRAM-SHA-256, simple and extended query, cancellation) and
// a catalog that answers pg_catalog and information_schema queries from the engine's
// schemas: one Postgres schema per connection, one table per plugin table.
//
// The server is read-only: a query reads plugin tables and nothing else (the engine's
// sandbox); SET, SHOW, BEGIN and COMMIT only change the session; anything else is refused
// with SQLSTATE 25006.
package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/spoutdev/spout/query"
)

// Defaults of Config.
const (
	DefaultDatabase       = "spout"
	DefaultMaxConnections = 100
	DefaultMaxQuerySize   = 1 << 20
	// maxMessageSize bounds any one protocol message: a client sending more is
	// disconnected, since its message cannot be skipped without reading it.
	maxMessageSize = 64 << 20
	// maxAuthMessageSize bounds a message before login, as Postgres's
	// PG_MAX_AUTH_TOKEN_LENGTH does: SCRAM and password messages are small, and a client
	// that has not logged in must not make the server buffer what it announces.
	maxAuthMessageSize = 65535
	// ServerVersion is what the server reports as server_version: a Postgres version
	// clients know how to talk to (they pick their catalog queries by it).
	ServerVersion = "15.0"
)

// Config sets up a Server. Users is the only required field: with no user, nobody can
// log in (there is no trust mode).
type Config struct {
	// Users may log in with SCRAM-SHA-256.
	Users []User
	// Database is the only database name clients may ask for; default "spout".
	Database string
	// TLS, when set, is offered to clients that ask (sslmode=require / prefer).
	TLS *tls.Config
	// RequireTLS refuses clients that do not ask for TLS. It needs TLS.
	RequireTLS bool
	// CleartextOverTLS asks clients on TLS connections for the password itself instead
	// of a SCRAM exchange, for clients without SCRAM. Connections without TLS always use
	// SCRAM-SHA-256.
	CleartextOverTLS bool
	// StatementTimeout bounds every query; a session may lower it with SET
	// statement_timeout, but not lift it (0 or a longer value there still gets this
	// one). 0: no limit.
	StatementTimeout time.Duration
	// MaxConnections is how many sessions may be open at once; default 100. A client
	// beyond it gets SQLSTATE 53300 and is disconnected. As many again may be logging in
	// (before authentication) at once.
	MaxConnections int
	// MaxQuerySize bounds a query's text; default 1 MiB. A longer query gets SQLSTATE
	// 54000 and the session goes on.
	MaxQuerySize int
	Logger       *slog.Logger
}

// Server is a running wire-protocol front end of one engine.
type Server struct {
	eng     *query.Engine
	cfg     Config
	users   map[string]*User
	catalog *catalog
	logger  *slog.Logger
	mockKey [32]byte // derives unknown users' SCRAM credentials (mockCredentials)

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[uint32]*session   // by process id
	startups  map[net.Conn]struct{} // connections not logged in yet: Shutdown closes them
	shutdown  bool
	wg        sync.WaitGroup
	open      atomic.Int64
	// loggingIn counts connections still in startup. They are bounded apart from the
	// sessions (by the same number), as Postgres bounds its startup backends: clients
	// that never log in cannot hold every descriptor, nor lock out those who do.
	loggingIn atomic.Int64
	done      chan struct{} // closed when Shutdown starts
}

// New prepares a server for eng. It builds the catalog from the engine's schemas, so
// connections the engine does not know cannot appear later.
func New(ctx context.Context, eng *query.Engine, cfg Config) (*Server, error) {
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxQuerySize <= 0 {
		cfg.MaxQuerySize = DefaultMaxQuerySize
	}
	if (cfg.RequireTLS || cfg.CleartextOverTLS) && cfg.TLS == nil {
		return nil, errors.New("pgwire: RequireTLS and CleartextOverTLS need a TLS configuration")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	users := map[string]*User{}
	for i := range cfg.Users {
		u := cfg.Users[i]
		if err := u.prepare(); err != nil {
			return nil, fmt.Errorf("pgwire: user %q: %w", u.Name, err)
		}
		if _, dup := users[u.Name]; dup {
			return nil, fmt.Errorf("pgwire: user %q is listed twice", u.Name)
		}
		users[u.Name] = &u
	}
	var names []string
	for _, u := range cfg.Users {
		names = append(names, u.Name)
	}
	cat, err := newCatalog(ctx, eng.Schemas(), cfg.Database, names)
	if err != nil {
		return nil, fmt.Errorf("pgwire: building the catalog: %w", err)
	}
	srv := &Server{
		eng:       eng,
		cfg:       cfg,
		users:     users,
		catalog:   cat,
		logger:    cfg.Logger,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[uint32]*session{},
		startups:  map[net.Conn]struct{}{},
		done:      make(chan struct{}),
	}
	if _, err := rand.Read(srv.mockKey[:]); err != nil {
		cat.close()
		return nil, fmt.Errorf("pgwire: generating a key: %w", err)
	}
	return srv, nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pgwire: server closed")

// Serve accepts connections on ln until Shutdown. It always returns an error:
// ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off instead of spinning.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("pgwire: accepting connections: %w", err)
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

// Shutdown stops accepting connections, lets running queries finish, and closes idle
// sessions with SQLSTATE 57P01. When ctx ends first, it cancels the queries still running
// and waits for their sessions to close. It returns ctx's error in that case.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutdown {
		s.shutdown = true
		close(s.done)
		for ln := range s.listeners {
			ln.Close()
		}
		// Nothing runs on a connection still logging in: it ends now, instead of at its
		// login deadline.
		for conn := range s.startups {
			conn.SetDeadline(time.Now())
		}
	}
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.stopWhenIdle()
	}
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		s.catalog.close()
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for _, ss := range s.sessions {
		ss.cancelQuery(errShutdown)
		// A session blocked writing to a client that stopped reading would never see
		// the cancel: its connection gets a last few seconds.
		ss.conn.SetDeadline(time.Now().Add(2 * time.Second))
	}
	s.mu.Unlock()
	<-finished
	s.catalog.close()
	return ctx.Err()
}

// Sessions reports how many sessions are open, for tests and metrics.
func (s *Server) Sessions() int { return int(s.open.Load()) }

// Running reports how many sessions are running a query.
func (s *Server) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sessions {
		ss.mu.Lock()
		if ss.busy {
			n++
		}
		ss.mu.Unlock()
	}
	return n
}

func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	if s.loggingIn.Add(1) > int64(s.cfg.MaxConnections) {
		s.loggingIn.Add(-1)
		s.refuseBusy(conn)
		return
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		s.loggingIn.Add(-1)
		return
	}
	s.startups[conn] = struct{}{}
	s.mu.Unlock()
	ss, err := s.startup(conn)
	s.mu.Lock()
	delete(s.startups, conn)
	s.mu.Unlock()
	s.loggingIn.Add(-1)
	if err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errCancelHandled) {
			s.logger.Info("connection refused", "remote", conn.RemoteAddr().String(), "error", err)
		}
		return
	}
	defer s.unregister(ss)
	ss.serve()
}

// refuseBusy answers a connection beyond the startup limit with SQLSTATE 53300, before
// reading anything from it.
func (s *Server) refuseBusy(conn net.Conn) {
	msg := &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "53300",
		Message: fmt.Sprintf("too many connections logging in (at most %d at once)", s.cfg.MaxConnections)}
	b, err := msg.Encode(nil)
	if err != nil {
		return
	}
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	conn.Write(b)
}

// register assigns the session its process id and secret key, and counts it against
// the connection limit.
func (s *Server) register(ss *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return errShutdown
	}
	if len(s.sessions) >= s.cfg.MaxConnections {
		return &pgError{code: "53300", msg: fmt.Sprintf("too many connections (max_connections is %d)", s.cfg.MaxConnections)}
	}
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("generating a cancel key: %w", err)
		}
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		if _, taken := s.sessions[pid]; pid == 0 || taken {
			continue
		}
		ss.pid, ss.secret = pid, b[4:8]
		s.sessions[pid] = ss
		s.open.Add(1)
		return nil
	}
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.pid] == ss {
		delete(s.sessions, ss.pid)
		s.open.Add(-1)
	}
}

// cancel handles a CancelRequest: the session with that key stops its running query.
// A wrong key does nothing, as in Postgres, so keys cannot be probed.
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	ss := s.sessions[pid]
	s.mu.Unlock()
	if ss == nil || !equalKeys(ss.secret, secret) {
		return
	}
	ss.cancelQuery(errCanceled)
}

func equalKeys(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range a {
		d |= a[i] ^ b[i]
	}
	return d == 0
}
