package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockedBuffer is stdout shared by the serving command and the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeAWSEndToEnd runs `spout serve` as the container does (configuration and
// password in the environment) with the real AWS plugin against the local fake AWS,
// queries it with pgx, and stops it as ECS does, with SIGTERM (here: the context).
func TestServeAWSEndToEnd(t *testing.T) {
	srv := fakeAWS(t)
	t.Setenv("SPOUT_CONFIG_YAML", spoutConfig(srv, t.TempDir())+`
serve:
  statement_timeout: 1m
`)
	t.Setenv("SPOUT_SERVE_PASSWORD", "hunter2 hunter2")
	t.Setenv("SPOUT_STOP_GRACE", "5s")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, out, errOut) }()

	var addr string
	deadline := time.Now().Add(60 * time.Second)
	for addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no serving line; stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited %d; stdout:\n%s\nstderr:\n%s", c, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(out.String(), "\n") {
			var rec struct{ Msg, Address string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr = rec.Address
			}
		}
	}

	dsn := fmt.Sprintf("postgres://spout:%s@%s/spout?sslmode=disable", "hunter2%20hunter2", addr)
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(t.Context(), "select name, region from aws_cloudformation_stack where region = $1 order by name", srv.Inventory().Regions[0])
	if err != nil {
		t.Fatal(err)
	}
	type stack struct{ Name, Region string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stack])
	if err != nil {
		t.Fatal(err)
	}
	var want []stack
	inv := srv.Inventory()
	for _, s := range inv.Stacks {
		if s.Account == inv.Accounts[0].ID && s.Region == inv.Regions[0] {
			want = append(want, stack{s.Name, s.Region})
		}
	}
	slices.SortFunc(want, func(a, b stack) int { return strings.Compare(a.Name, b.Name) })
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("stacks over the wire %v, in the fake %v", got, want)
	}
	var n int
	if err := c.QueryRow(t.Context(), "select count(*) from information_schema.tables where table_schema = 'aws' and table_name like 'aws_ec2%'").Scan(&n); err != nil || n < 10 {
		t.Errorf("information_schema lists %d aws_ec2 tables (%v)", n, err)
	}
	c.Close(t.Context())

	stop()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d after SIGTERM; stderr:\n%s", c, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within its grace period")
	}
	if !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("stdout:\n%s", out.String())
	}
}

func TestServeRefusesToStartWithoutALogin(t *testing.T) {
	srv := fakeAWS(t)
	// The README's file for serve: connections only, no queries, sinks or serve section.
	conns, _, _ := strings.Cut(spoutConfig(srv, t.TempDir()), "schedules:")
	t.Setenv("SPOUT_CONFIG_YAML", conns)
	t.Setenv("SPOUT_SERVE_PASSWORD", "")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "SPOUT_SERVE_PASSWORD") {
		t.Errorf("exit %d, stderr %s", code, errOut.String())
	}
}

func TestServePrintVerifierLogsIn(t *testing.T) {
	srv := fakeAWS(t)
	var out, errOut bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader("correct horse\n"), stdout: &out, stderr: &errOut}
	if code := runEnv([]string{"serve", "--print-verifier"}, e); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	verifier := strings.TrimSpace(out.String())
	if !strings.HasPrefix(verifier, "SCRAM-SHA-256$4096:") || strings.Contains(verifier, "correct horse") {
		t.Fatalf("verifier %q", verifier)
	}
	// The verifier in the file lets the password in, and only it.
	t.Setenv("SPOUT_CONFIG_YAML", spoutConfig(srv, t.TempDir())+`
serve:
  users:
    analyst:
      scram_verifier: "`+verifier+`"
`)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	logs := &lockedBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, logs, &lockedBuffer{}) }()
	addr := servingAddress(t, logs, code)
	c, err := pgx.Connect(t.Context(), "postgres://analyst:correct%20horse@"+addr+"/spout?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	c.Close(t.Context())
	if _, err := pgx.Connect(t.Context(), "postgres://analyst:wrong@"+addr+"/spout?sslmode=disable"); err == nil {
		t.Error("a wrong password logged in")
	}
	stop()
	if c := <-code; c != 0 {
		t.Errorf("exit %d", c)
	}
}

// servingAddress waits for serve's "serving" log line and returns its address.
func servingAddress(t *testing.T, out *lockedBuffer, code chan int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, line := range strings.Split(out.String(), "\n") {
			var rec struct{ Msg, Address string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				return rec.Address
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no serving line; stdout:\n%s", out.String())
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited %d; stdout:\n%s", c, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
