package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/xdg-go/scram"
)

var (
	errCanceled      = &pgError{code: "57014", msg: "canceling statement due to user request"}
	errTimeout       = &pgError{code: "57014", msg: "canceling statement due to statement timeout"}
	errShutdown      = &pgError{code: "57P01", msg: "terminating connection due to administrator command", fatal: true}
	errCancelHandled = errors.New("cancel request handled")
)

// session is one client connection after startup.
type session struct {
	srv    *Server
	conn   net.Conn
	be     *pgproto3.Backend
	types  *pgtype.Map
	pid    uint32
	secret []byte

	user     string
	database string
	auth     string // how the user logged in: scram-sha-256 or password
	settings *settings
	stmts    map[string]*statement
	portals  map[string]*portal
	tx       byte // 'I' idle, 'T' in a transaction block, 'E' failed transaction block
	// skipToSync is set after an error in the extended protocol: messages up to the
	// next Sync are ignored, as Postgres does.
	skipToSync bool

	mu       sync.Mutex
	busy     bool
	stopping bool
	cancel   context.CancelCauseFunc // of the running query
}

// startup runs the connection's first messages: TLS negotiation, a cancel request, or the
// startup message and authentication. It returns a session ready for queries.
func (s *Server) startup(conn net.Conn) (*session, error) {
	// A client gets a while to finish logging in, not for ever.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	be := pgproto3.NewBackend(conn, conn)
	be.SetMaxBodyLen(maxAuthMessageSize)
	tlsDone := false
	for {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.CancelRequest:
			s.cancel(m.ProcessID, m.SecretKey)
			return nil, errCancelHandled
		case *pgproto3.GSSEncRequest:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		case *pgproto3.SSLRequest:
			if tlsDone || s.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return nil, err
			}
			tc := tls.Server(conn, s.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			conn, tlsDone = tc, true
			be = pgproto3.NewBackend(conn, conn)
			be.SetMaxBodyLen(maxAuthMessageSize)
		case *pgproto3.StartupMessage:
			ss := &session{srv: s, conn: conn, be: be, types: pgtype.NewMap(), tx: 'I',
				stmts: map[string]*statement{}, portals: map[string]*portal{}}
			if err := ss.login(m, tlsDone); err != nil {
				ss.sendError(err, "", 0)
				ss.be.Flush()
				return nil, err
			}
			conn.SetDeadline(time.Time{})
			be.SetMaxBodyLen(maxMessageSize)
			return ss, nil
		default:
			return nil, fmt.Errorf("unexpected startup message %T", msg)
		}
	}
}

func (ss *session) login(m *pgproto3.StartupMessage, overTLS bool) error {
	s := ss.srv
	if s.cfg.RequireTLS && !overTLS {
		return &pgError{code: "28000", msg: "this server requires TLS: connect with sslmode=require", fatal: true}
	}
	ss.user = m.Parameters["user"]
	ss.database = m.Parameters["database"]
	if ss.database == "" {
		ss.database = ss.user
	}
	if ss.user == "" {
		return &pgError{code: "28000", msg: "no user name in the startup message", fatal: true}
	}
	if err := ss.authenticate(overTLS); err != nil {
		return err
	}
	if ss.database != s.cfg.Database {
		return &pgError{code: "3D000", msg: fmt.Sprintf("database %q does not exist (this server has %q)", ss.database, s.cfg.Database), fatal: true}
	}
	if err := s.register(ss); err != nil {
		return asFatal(err)
	}
	ss.settings = newSettings(s, ss.user, m.Parameters)
	ss.be.Send(&pgproto3.AuthenticationOk{})
	for _, k := range reportedSettings {
		ss.be.Send(&pgproto3.ParameterStatus{Name: k, Value: ss.settings.get(k)})
	}
	ss.be.Send(&pgproto3.BackendKeyData{ProcessID: ss.pid, SecretKey: ss.secret})
	ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return ss.be.Flush()
}

// authenticate runs SCRAM-SHA-256 (RFC 7677) for the startup user. An unknown user goes
// through the same exchange with made-up credentials, so that the answer does not tell
// which user names exist.
func (ss *session) authenticate(overTLS bool) error {
	err := ss.authenticateBy(overTLS)
	var tooBig *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &tooBig) {
		return &pgError{code: "08P01", msg: fmt.Sprintf("invalid authentication message: %d bytes, at most %d before login", tooBig.ActualBodyLen, tooBig.MaxExpectedBodyLen), fatal: true}
	}
	return err
}

// authenticateBy runs the exchange; authenticate turns an oversized message into the
// client's error.
func (ss *session) authenticateBy(overTLS bool) error {
	if overTLS && ss.srv.cfg.CleartextOverTLS {
		ss.auth = "password"
		return ss.cleartext()
	}
	ss.auth = "scram-sha-256"
	u := ss.srv.users[ss.user]
	creds := ss.srv.mockCredentials(ss.user)
	if u != nil {
		creds = u.creds
	}
	failed := &pgError{code: "28P01", msg: fmt.Sprintf("password authentication failed for user %q", ss.user), fatal: true}
	server, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		return fmt.Errorf("starting SCRAM: %w", err)
	}
	conv := server.NewConversation()
	ss.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if err := ss.be.Flush(); err != nil {
		return err
	}
	if err := ss.be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := ss.be.Receive()
	if err != nil {
		return err
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || first.AuthMechanism != "SCRAM-SHA-256" {
		return &pgError{code: "28000", msg: "expected a SCRAM-SHA-256 initial response (this server authenticates with SCRAM-SHA-256 only)", fatal: true}
	}
	resp, err := conv.Step(string(first.Data))
	if err != nil {
		return failed
	}
	ss.be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(resp)})
	if err := ss.be.Flush(); err != nil {
		return err
	}
	if err := ss.be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	msg, err = ss.be.Receive()
	if err != nil {
		return err
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return failed
	}
	resp, err = conv.Step(string(final.Data))
	if err != nil || !conv.Valid() || u == nil {
		return failed
	}
	ss.be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte(resp)})
	return nil
}

// cleartext asks for the password itself; only ever over TLS. It is checked by deriving
// the user's SCRAM keys from it, so plain passwords are never stored.
func (ss *session) cleartext() error {
	failed := &pgError{code: "28P01", msg: fmt.Sprintf("password authentication failed for user %q", ss.user), fatal: true}
	ss.be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := ss.be.Flush(); err != nil {
		return err
	}
	if err := ss.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return err
	}
	msg, err := ss.be.Receive()
	if err != nil {
		return err
	}
	pm, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return failed
	}
	// An unknown user's password is checked against made-up keys all the same, so that
	// the time the answer takes does not tell which user names exist.
	u := ss.srv.users[ss.user]
	creds := ss.srv.mockCredentials(ss.user)
	if u != nil {
		creds = u.creds
	}
	client, err := scram.SHA256.NewClient("", pm.Password, "")
	if err != nil {
		return failed
	}
	got, err := client.GetStoredCredentialsWithError(creds.KeyFactors)
	if err != nil || !equalKeys(got.StoredKey, creds.StoredKey) || u == nil {
		return failed
	}
	return nil
}

// serve handles the session's messages until the client leaves or the server stops.
func (ss *session) serve() {
	log := ss.srv.logger.With("pid", ss.pid, "user", ss.user)
	log.Debug("session started", "remote", ss.conn.RemoteAddr().String(), "auth", ss.auth)
	defer ss.closeAll()
	ready := true // the client has had ReadyForQuery: nothing of its is half done
	for {
		if ready && ss.shouldStop() {
			ss.terminate()
			return
		}
		msg, err := ss.be.Receive()
		if err != nil {
			if ss.shouldStop() {
				ss.terminate()
				return
			}
			var tooBig *pgproto3.ExceededMaxBodyLenErr
			if errors.As(err, &tooBig) {
				ss.sendError(&pgError{code: "54000", msg: fmt.Sprintf("message of %d bytes is longer than the server's limit of %d bytes", tooBig.ActualBodyLen, tooBig.MaxExpectedBodyLen), fatal: true}, "", 0)
				ss.be.Flush()
			}
			log.Debug("session ended", "error", err)
			return
		}
		if _, ok := msg.(*pgproto3.Terminate); ok {
			return
		}
		switch msg.(type) {
		case *pgproto3.Query, *pgproto3.Sync:
			ready = true
		default:
			ready = false
		}
		if err := ss.dispatch(msg); err != nil {
			log.Debug("session ended", "error", err)
			return
		}
	}
}

// dispatch handles one frontend message. An error ends the session (the connection
// broke, or the client broke the protocol).
func (ss *session) dispatch(msg pgproto3.FrontendMessage) error {
	if ss.skipToSync {
		if _, ok := msg.(*pgproto3.Sync); !ok {
			return nil
		}
	}
	switch m := msg.(type) {
	case *pgproto3.Query:
		if err := ss.checkSize(m.String); err != nil {
			ss.sendError(err, "", 0)
		} else {
			ss.simpleQuery(m.String)
		}
		ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.tx})
		return ss.be.Flush()
	case *pgproto3.Parse:
		if err := ss.checkSize(m.Query); err != nil {
			ss.extended(err)
			return nil
		}
		ss.extended(ss.parse(m))
	case *pgproto3.Bind:
		ss.extended(ss.bind(m))
	case *pgproto3.Describe:
		ss.extended(ss.describe(m))
	case *pgproto3.Execute:
		ss.extended(ss.execute(m))
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(ss.stmts, m.Name)
		} else {
			ss.closePortal(m.Name)
		}
		ss.be.Send(&pgproto3.CloseComplete{})
	case *pgproto3.Sync:
		ss.skipToSync = false
		// Outside a transaction block, an extended-protocol "transaction" ends here.
		ss.closeUnnamedPortal()
		ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.tx})
		return ss.be.Flush()
	case *pgproto3.Flush:
		return ss.be.Flush()
	case *pgproto3.FunctionCall:
		ss.extended(&pgError{code: "0A000", msg: "the function call protocol is not supported"})
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// Only answers to a COPY FROM STDIN, which is refused; nothing to do.
	default:
		return fmt.Errorf("unexpected message %T", msg)
	}
	return nil
}

func (ss *session) checkSize(text string) error {
	if limit := ss.srv.cfg.MaxQuerySize; len(text) > limit {
		return &pgError{code: "54000", msg: fmt.Sprintf("the query is %d bytes long; this server takes at most %d", len(text), limit)}
	}
	return nil
}

// extended reports an extended-protocol error and skips to the next Sync.
func (ss *session) extended(err error) {
	if err == nil {
		return
	}
	ss.sendError(err, "", 0)
	ss.skipToSync = true
	if ss.tx == 'T' {
		ss.tx = 'E'
	}
}

// begin marks a query running and returns its context: cancelled by a CancelRequest,
// the statement timeout, or a shutdown past its grace period.
func (ss *session) begin() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var stopTimer func() bool
	if d := ss.settings.statementTimeout(); d > 0 {
		t := time.AfterFunc(d, func() { cancel(errTimeout) })
		stopTimer = t.Stop
	}
	ss.mu.Lock()
	ss.busy, ss.cancel = true, cancel
	ss.mu.Unlock()
	return ctx, func() {
		if stopTimer != nil {
			stopTimer()
		}
		ss.mu.Lock()
		ss.busy, ss.cancel = false, nil
		ss.mu.Unlock()
		cancel(nil)
	}
}

func (ss *session) cancelQuery(cause error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancel != nil {
		ss.cancel(cause)
	}
}

// stopWhenIdle makes the session end as soon as it is not running a query: now if it is
// waiting for the client, else after the query.
func (ss *session) stopWhenIdle() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.stopping = true
	if !ss.busy {
		// Wakes the read the session is blocked in.
		ss.conn.SetReadDeadline(time.Now())
	}
}

func (ss *session) shouldStop() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.stopping
}

func (ss *session) terminate() {
	ss.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	ss.sendError(errShutdown, "", 0)
	ss.be.Flush()
}

func (ss *session) closeAll() {
	for name := range ss.portals {
		ss.closePortal(name)
	}
}

// settings holds what SET changes and SHOW reads.
type settings struct {
	vals    map[string]string
	timeout time.Duration // the session's statement_timeout
	ceiling time.Duration // the server's, which a session may lower but not lift; 0: none
}

// reportedSettings are sent as ParameterStatus after login, as Postgres does; drivers
// read server_version and client_encoding from them.
var reportedSettings = []string{
	"server_version", "server_encoding", "client_encoding", "application_name",
	"DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings",
	"is_superuser", "session_authorization",
}

func newSettings(s *Server, user string, startup map[string]string) *settings {
	st := &settings{vals: map[string]string{
		"server_version":                ServerVersion,
		"server_version_num":            "150000",
		"server_encoding":               "UTF8",
		"client_encoding":               "UTF8",
		"application_name":              "",
		"datestyle":                     "ISO, MDY",
		"intervalstyle":                 "postgres",
		"timezone":                      "UTC",
		"integer_datetimes":             "on",
		"standard_conforming_strings":   "on",
		"is_superuser":                  "off",
		"session_authorization":         user,
		"transaction_isolation":         "read committed",
		"transaction_read_only":         "on",
		"default_transaction_read_only": "on",
		"max_identifier_length":         "63",
		"search_path":                   "",
		"extra_float_digits":            "1",
		"lc_collate":                    "C",
		"lc_ctype":                      "C",
		"max_connections":               fmt.Sprint(s.cfg.MaxConnections),
	}, timeout: s.cfg.StatementTimeout, ceiling: s.cfg.StatementTimeout}
	st.vals["statement_timeout"] = formatTimeout(st.timeout)
	st.vals["search_path"] = strings.Join(s.catalog.schemas, ", ")
	for k, v := range startup {
		switch strings.ToLower(k) {
		case "user", "database", "replication":
		case "options":
			// -c name=value pairs, as libpq's PGOPTIONS sends them.
			for _, opt := range strings.Fields(v) {
				opt = strings.TrimPrefix(opt, "-c")
				if name, val, ok := strings.Cut(opt, "="); ok {
					st.set(name, val)
				}
			}
		default:
			st.set(k, v)
		}
	}
	return st
}

func (st *settings) get(name string) string {
	name = strings.ToLower(name)
	return st.vals[name]
}

// set changes a setting. statement_timeout takes Postgres's forms: milliseconds, or a
// number with a unit (5s, 2min).
func (st *settings) set(name, value string) error {
	name = strings.ToLower(name)
	if name == "statement_timeout" {
		d, err := parseTimeout(value)
		if err != nil {
			return &pgError{code: "22023", msg: fmt.Sprintf("invalid value for parameter \"statement_timeout\": %q", value)}
		}
		st.timeout = d
		st.vals[name] = formatTimeout(d)
		return nil
	}
	st.vals[name] = value
	return nil
}

// statementTimeout is the session's timeout, held to the server's: a client (or a BI
// tool's pool) that sets 0 or a longer one must not run a scan the operator bounded.
func (st *settings) statementTimeout() time.Duration {
	if st.ceiling > 0 && (st.timeout == 0 || st.timeout > st.ceiling) {
		return st.ceiling
	}
	return st.timeout
}

func parseTimeout(v string) (time.Duration, error) {
	v = strings.Trim(strings.TrimSpace(v), "'")
	if v == "" {
		return 0, errors.New("empty")
	}
	var n float64
	var unit string
	if _, err := fmt.Sscanf(v, "%g%s", &n, &unit); err != nil {
		if _, err := fmt.Sscanf(v, "%g", &n); err != nil {
			return 0, err
		}
	}
	mult := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	m, ok := mult[strings.TrimSpace(unit)]
	if !ok || n < 0 {
		return 0, errors.New("bad unit")
	}
	return time.Duration(n * float64(m)), nil
}

func formatTimeout(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
