package pgwire_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/spoutdev/spout/pgwire"
)

// TestNodePostgres runs node-postgres (npm pg, pinned in testdata/node) against the
// server. It installs pg into a temporary copy of testdata/node with npm ci.
func TestNodePostgres(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and npm are needed (CI has them)")
		}
		t.Skip("node or npm not found on PATH; install nodejs and npm to run the node-postgres test")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "query.js"} {
		b, err := os.ReadFile(filepath.Join("testdata", "node", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install := exec.CommandContext(t.Context(), npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}

	s := startServer(t, pgwire.Config{})
	cmd := exec.CommandContext(t.Context(), node, "query.js")
	cmd.Dir = dir
	dsn := url.URL{Scheme: "postgres", User: url.UserPassword(testUser, testPassword), Host: s.addr.String(), Path: "/spout", RawQuery: "sslmode=disable"}
	cmd.Env = append(os.Environ(), "DSN="+dsn.String())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	var res struct {
		Rows   []map[string]any
		Fields [][2]any
		Bad    struct {
			Code, Position, Message string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// node-postgres parses int8 as a string (it does not fit a JS number), the rest
	// by type: the OIDs are what made it do so.
	if len(res.Rows) != 3 || res.Rows[0]["id"] != "1" || res.Rows[2]["name"] != "item-3" || res.Rows[1]["active"] != true || res.Rows[0]["score"] != 1.5 {
		t.Errorf("rows %v", res.Rows)
	}
	if tags, ok := res.Rows[0]["tags"].(map[string]any); !ok || tags["environment"] != "dev" {
		t.Errorf("tags %v (jsonb is parsed as JSON)", res.Rows[0]["tags"])
	}
	if res.Bad.Code != "42703" || res.Bad.Position != "8" {
		t.Errorf("error %+v", res.Bad)
	}
}
