package pgwire_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/pgwire"
)

// TestPsql drives the real psql binary: its backslash commands run psql's own catalog
// queries, which the server must answer from the plugin schemas.
func TestPsql(t *testing.T) {
	s := startServer(t, pgwire.Config{})

	t.Run("dt lists the tables visible on the search path", func(t *testing.T) {
		out, errOut, err := s.psql(t, "-c", `\dt`)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		// The first connection shadows the others' tables of the same name, as a
		// Postgres search_path does.
		for _, table := range engine(t).Schemas()[0].Tables {
			if !strings.Contains(out, fmt.Sprintf(" test   | %s", table.Name)) {
				t.Errorf("\\dt lacks test.%s:\n%s", table.Name, out)
			}
		}
		if strings.Contains(out, " slow ") {
			t.Errorf("\\dt lists shadowed tables of slow:\n%s", out)
		}
	})

	t.Run("d describes a table with Postgres types", func(t *testing.T) {
		out, errOut, err := s.psql(t, "-c", `\d test_types`)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		if !strings.Contains(out, `Table "test.test_types"`) {
			t.Errorf("no title:\n%s", out)
		}
		info, err := engine(t).Table("test_types")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range info.Columns {
			want := map[string]string{"timestamptz": "timestamp with time zone", "inet": "text", "cidr": "text", "ltree": "text"}[c.Type]
			if want == "" {
				want = c.Type
			}
			if !containsRow(out, c.Name, want) {
				t.Errorf("\\d lacks %s %s:\n%s", c.Name, want, out)
			}
		}
	})

	t.Run("dt with a pattern, d+ and dt on a schema", func(t *testing.T) {
		out, errOut, err := s.psql(t, "-c", `\dt test_t*`, "-c", `\d+ test_slow`, "-c", `\dt big.*`)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		for _, want := range []string{" test   | test_types ", "Description", "| 1..100.", " big    | test_big "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if first, _, _ := strings.Cut(out, "Table"); strings.Contains(first, "test_optional") {
			t.Errorf("the pattern matched test_optional:\n%s", out)
		}
	})

	t.Run("d on a qualified table and dn", func(t *testing.T) {
		out, errOut, err := s.psql(t, "-c", `\d slow.test_slow`, "-c", `\dn`)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		for _, want := range []string{`Table "slow.test_slow"`, "page", " big ", " slow ", " test "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "pg_spout") || strings.Contains(out, " main ") {
			t.Errorf("the catalog's own schemas show:\n%s", out)
		}
	})

	t.Run("a join returns the engine's rows", func(t *testing.T) {
		q := "select t.id, t.name, o.region from test_types t join test_optional o on o.size = t.id * 10 where t.id <= 5 order by t.id"
		out, errOut, err := s.psql(t, "-A", "-t", "-F", ",", "-c", q)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		want := engineCSV(t, q)
		if strings.Count(want, "\n") != 5 {
			t.Fatalf("the engine returned %q; the test needs 5 rows", want)
		}
		if got := out; got != want {
			t.Errorf("psql got\n%s\nthe engine\n%s", got, want)
		}
	})

	t.Run("a bad column is located", func(t *testing.T) {
		q := "select id,\n       nope\nfrom test_types"
		_, errOut, err := s.psql(t, "-c", q)
		if err == nil {
			t.Fatal("psql succeeded")
		}
		// psql prints the line and a caret under the position the server sent.
		if !strings.Contains(errOut, "ERROR:  column nope does not exist") || !strings.Contains(errOut, "LINE 2:        nope") {
			t.Fatalf("stderr:\n%s", errOut)
		}
		lines := strings.Split(errOut, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "LINE 2:") && i+1 < len(lines) {
				if caret := strings.Index(lines[i+1], "^"); caret != strings.Index(l, "nope") {
					t.Errorf("caret at %d, nope at %d:\n%s", caret, strings.Index(l, "nope"), errOut)
				}
			}
		}
	})

	t.Run("a write is refused", func(t *testing.T) {
		_, errOut, err := s.psql(t, "-c", "create table x (a int)")
		if err == nil || !strings.Contains(errOut, "read-only") {
			t.Errorf("err %v, stderr:\n%s", err, errOut)
		}
	})

	t.Run("ctrl-c cancels a slow scan", func(t *testing.T) {
		testplugin.Calls.Reset()
		cmd := exec.Command(psqlPath(t), "-X", s.dsn(), "-c", "select count(*) from slow.test_slow")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the scan is fetching pages, then press Ctrl-C.
		deadline := time.Now().Add(20 * time.Second)
		for testplugin.Calls.SlowPages() < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL)
			t.Fatalf("psql still running 10s after Ctrl-C; stderr:\n%s", errb.String())
		}
		if !strings.Contains(errb.String(), "canceling statement due to user request") {
			t.Errorf("stderr:\n%s", errb.String())
		}
		pages := testplugin.Calls.SlowPages()
		time.Sleep(3 * slowDelay)
		if after := testplugin.Calls.SlowPages(); after != pages || pages >= 100 {
			t.Errorf("the plugin went on fetching after the cancel: %d pages, then %d", pages, after)
		}
		t.Logf("cancelled after %d pages, psql exited %s after Ctrl-C", pages, time.Since(start).Round(time.Millisecond))
	})
}

// containsRow reports whether psql's aligned output has a row starting with the cells.
func containsRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		parts := strings.Split(line, "|")
		if len(parts) < len(cells) {
			continue
		}
		ok := true
		for i, c := range cells {
			if strings.TrimSpace(parts[i]) != c {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// engineCSV runs q on the engine directly and writes its rows as psql -A -t -F, does.
func engineCSV(t *testing.T, q string) string {
	t.Helper()
	rows, err := engine(t).Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals, _ := rows.Values()
		for i, v := range vals {
			if i > 0 {
				b.WriteString(",")
			}
			if v != nil {
				fmt.Fprint(&b, v)
			}
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
