package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/internal/s3test"
	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
)

// childEnv marks a process started by startSpout: the test binary re-executed as the
// real spout command, with real signal handling, plus the test plugin.
const childEnv = "SPOUT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		aws := plugins
		plugins = func() map[string]query.PluginFunc {
			p := aws()
			p["test"] = testplugin.Plugin
			return p
		}
		main()
		return
	}
	pgtest.Main(m)
}

// child is a spout process and what it printed, line by line.
type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	done   chan struct{}
}

// startSpout runs `spout args...` in a child process with env added to the test's own.
func startSpout(t *testing.T, env map[string]string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &syncBuilder{mu: &c.mu, b: &c.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		_ = cmd.Wait()
	})
	return c
}

// wait waits for the child to exit and returns its exit code.
func (c *child) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("spout did not exit within %v; stdout so far:\n%s", timeout, c.output())
	}
	err := c.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n") + "\n" + c.stderr.String()
}

type syncBuilder struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// webhookReceiver keeps each request's query, final flag and body.
type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []webhookBatch
	status int
}

type webhookBatch struct {
	query string
	final bool
	body  string
	sig   string
}

func newWebhookReceiver(t *testing.T, status int) *webhookReceiver {
	h := &webhookReceiver{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, webhookBatch{
			query: r.Header.Get("X-Spout-Query"),
			final: r.Header.Get("X-Spout-Final") == "true",
			body:  string(b),
			sig:   r.Header.Get("X-Spout-Signature"),
		})
		h.mu.Unlock()
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhookReceiver) batches(query string) (n int, final bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.got {
		if b.query == query {
			n++
			final = final || b.final
		}
	}
	return n, final
}

func pgTables(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select table_name from information_schema.tables where table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, name := range names {
		var n int64
		if err := conn.QueryRow(ctx, "select count(*) from "+pgx.Identifier{name}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	return counts
}

// TestSIGTERMAbortsOpenResults stops a real spout run the way ECS does, mid-scan, and
// checks that what was committed stays, that nothing open is half-written anywhere,
// and that the run says so and exits 3.
func TestSIGTERMAbortsOpenResults(t *testing.T) {
	dsn := pgtest.DSN(t)
	s3srv := s3test.Start(t, "results")
	hook := newWebhookReceiver(t, http.StatusOK)
	dir := t.TempDir()
	config := `
connections:
  test:
    plugin: test
    config: |
      delay = "250ms"
sinks:
  pg: {type: postgres, dsn_env: SIGTERM_PG_DSN, mode: replace, batch: {rows: 10}}
  lake: {type: s3, bucket: results, endpoint: ` + s3srv.URL + `, path_style: true, format: jsonl, batch: {rows: 10}}
  hook: {type: webhook, url: ` + hook.srv.URL + `, batch: {rows: 10}}
queries:
  - {name: quick, sinks: [pg, lake, hook], sql: select id from test_types}
  - {name: slow, sinks: [pg, lake, hook], sql: "select id, page from test_slow"}
`
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startSpout(t, map[string]string{
		"SIGTERM_PG_DSN":            dsn,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
		"SPOUT_STOP_GRACE":          "10s",
	}, "run", "-c", path)

	// Wait until the slow result is open at every sink with rows written to it: its
	// webhook batches (10 rows each) arrive while the scan runs.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n, _ := hook.batches("slow"); n >= 2 {
			if n, final := hook.batches("quick"); n > 0 && final {
				break
			}
		}
		select {
		case <-c.done:
			t.Fatalf("spout exited before the slow result got going:\n%s", c.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow result never got going:\n%s", c.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t, 30*time.Second)
	took := time.Since(sent)
	out := c.output()
	if code != runner.ExitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, runner.ExitInterrupted, out)
	}
	if took > 10*time.Second {
		t.Errorf("took %v after SIGTERM, more than the stop grace", took)
	}
	m := manifestOf(t, logLines(t, strings.Join(c.lines, "\n")))
	if m["status"] != "interrupted" || m["exit_code"] != float64(3) {
		t.Errorf("manifest status %v, exit_code %v", m["status"], m["exit_code"])
	}
	for _, q := range m["queries"].([]any) {
		q := q.(map[string]any)
		want := map[string]string{"quick": "ok", "slow": "interrupted"}[q["name"].(string)]
		if q["status"] != want {
			t.Errorf("query %s: status %v, want %s", q["name"], q["status"], want)
		}
	}

	// Postgres: quick's table swapped in, slow's never created, no staging table left.
	if got := pgTables(t, dsn); len(got) != 1 || got["quick"] != 10 {
		t.Errorf("postgres tables = %v, want only quick with 10 rows", got)
	}
	// S3: quick's object only; slow's multipart upload never completed.
	keys := s3srv.Keys(t, "results")
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "quick/") {
		t.Errorf("S3 objects = %v, want quick's only", keys)
	}
	// Webhook: slow's batches sent so far, but never its final one.
	if n, final := hook.batches("slow"); final || n == 0 {
		t.Errorf("slow: %d webhook batches, final %v; want some, none final", n, final)
	}
}

// TestNoSecretInAnyLine runs with every kind of secret set and sinks that fail, at
// debug level, and looks for each secret in everything the run printed.
func TestNoSecretInAnyLine(t *testing.T) {
	secrets := map[string]string{
		"pg password":     "pg-Secret-5f1c0d",
		"hmac key":        "hmac-Secret-9a2b7e",
		"aws secret key":  "aws-Secret-4d8c1f",
		"aws session":     "aws-Session-77e0aa",
		"webhook url key": "url-Secret-31bb9c",
	}
	good := pgtest.DSN(t)
	// pgtest's cluster trusts local connections, so the password is carried and ignored.
	withPassword := strings.Replace(good, "://", "://spout:"+secrets["pg password"]+"@", 1)
	if strings.Contains(good, "@") {
		withPassword = strings.Replace(good, "@", ":"+secrets["pg password"]+"@", 1)
	}
	s3srv := s3test.Start(t, "results")
	ok := newWebhookReceiver(t, http.StatusOK)
	broken := newWebhookReceiver(t, http.StatusInternalServerError)
	dir := t.TempDir()
	config := `
connections:
  test: {plugin: test}
sinks:
  pg: {type: postgres, dsn_env: SECRET_PG_DSN}
  pg_down: {type: postgres, dsn_env: SECRET_PG_DOWN_DSN, retry: {attempts: 2, backoff: 10ms}}
  lake: {type: s3, bucket: results, endpoint: ` + s3srv.URL + `, path_style: true}
  lake_missing: {type: s3, bucket: no-such-bucket, endpoint: ` + s3srv.URL + `, path_style: true, retry: {attempts: 2, backoff: 10ms}}
  hook: {type: webhook, url: "${SECRET_HOOK_URL}", secret_env: SECRET_HMAC}
  hook_down: {type: webhook, url: "${SECRET_HOOK_DOWN_URL}", secret_env: SECRET_HMAC, retry: {attempts: 2, backoff: 10ms}}
queries:
  - {name: rows, sinks: [pg, pg_down, lake, lake_missing, hook, hook_down], sql: "select id, name from test_types"}
  - {name: broken, sinks: [hook], sql: select * from test_error}
`
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startSpout(t, map[string]string{
		"SPOUT_LOG_LEVEL":    "debug",
		"SECRET_PG_DSN":      withPassword,
		"SECRET_PG_DOWN_DSN": "postgres://spout:" + secrets["pg password"] + "@127.0.0.1:1/spout?connect_timeout=2",
		"SECRET_HOOK_URL":    ok.srv.URL + "/hooks/" + secrets["webhook url key"],
		// A receiver that always fails: retries and the failure are logged with the URL.
		"SECRET_HOOK_DOWN_URL":  broken.srv.URL + "/hooks/" + secrets["webhook url key"] + "?token=" + secrets["webhook url key"],
		"SECRET_HMAC":           secrets["hmac key"],
		"AWS_ACCESS_KEY_ID":     "AKIDSPOUTTEST",
		"AWS_SECRET_ACCESS_KEY": secrets["aws secret key"],
		"AWS_SESSION_TOKEN":     secrets["aws session"],
		"AWS_REGION":            "us-east-1",
	}, "run", "-c", path)
	if code := c.wait(t, 2*time.Minute); code != runner.ExitFailed {
		t.Fatalf("exit %d, want 1 (failing sinks)\n%s", code, c.output())
	}
	out := c.output()
	// The run did deliver, fail and retry, so the lines looked at are the interesting ones.
	for _, want := range []string{`"status":"delivered"`, `"status":"failed"`, "retry"} {
		if !strings.Contains(out, want) {
			t.Errorf("the run printed no %s; the test does not cover what it means to:\n%s", want, out)
		}
	}
	if n, final := ok.batches("rows"); n == 0 || !final {
		t.Errorf("the working webhook got %d batches (final %v)", n, final)
	}
	for what, secret := range secrets {
		for i, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("line %d shows the %s: %s", i+1, what, line)
			}
		}
	}
	if t.Failed() || os.Getenv("SPOUT_TEST_SHOW") != "" {
		fmt.Println(out)
	}
}
