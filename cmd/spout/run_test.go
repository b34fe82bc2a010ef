package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// fakeAWS starts the local AWS endpoint and gives the plugin dummy credentials, away
// from the host's ~/.aws.
func fakeAWS(t *testing.T) *fakeaws.Server {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDSPOUTTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"SPOUT_CONFIG":                "",
		"SPOUT_CONFIG_YAML":           "",
		"SPOUT_LOG_LEVEL":             "",
	} {
		t.Setenv(k, v)
	}
	srv := fakeaws.New(fakeaws.Options{Seed: 2})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// spoutConfig is a small configuration against srv's management account, with its
// results written under dir.
func spoutConfig(srv *fakeaws.Server, dir string) string {
	return `
connections:
  aws:
    plugin: aws
    config: |
` + "      " + strings.ReplaceAll(strings.TrimSpace(srv.PluginConfig(srv.Inventory().Accounts[0].ID)), "\n", "\n      ") + `
schedules:
  daily: rate(1 day)
sinks:
  out: {type: file, path: "` + dir + `/{{.Query}}.jsonl"}
queries:
  - name: stacks
    schedule: daily
    sinks: [out]
    sql: select name, region from aws_cloudformation_stack
  - name: regions
    sinks: [out]
    sql: select distinct region from aws_cloudformation_stack order by region
  - name: missing_service
    enabled: false
    sinks: [out]
    sql: select name from aws_lambda_function
`
}

// logLines parses the run's stdout: one JSON object per line.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		recs = append(recs, rec)
	}
	return recs
}

func manifestOf(t *testing.T, recs []map[string]any) map[string]any {
	t.Helper()
	last := recs[len(recs)-1]
	if last["msg"] != "run manifest" {
		t.Fatalf("the last line is not the manifest: %v", last)
	}
	return last["manifest"].(map[string]any)
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(strings.TrimSpace(string(b)), "\n"))
}

func TestRunFromSpoutConfigYAMLAsTheContainerDoes(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	// ECS passes the file in the environment, base64 or plain; ENTRYPOINT is "spout run".
	t.Setenv("SPOUT_CONFIG_YAML", base64.StdEncoding.EncodeToString([]byte(spoutConfig(srv, dir))))
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"run", "--schedule", "daily"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	m := manifestOf(t, logLines(t, out.String()))
	queries := m["queries"].([]any)
	if m["status"] != "ok" || m["config"] != "$SPOUT_CONFIG_YAML" || len(queries) != 1 || queries[0].(map[string]any)["name"] != "stacks" {
		t.Fatalf("manifest = %v", m)
	}
	want := 0
	for _, s := range srv.Inventory().Stacks {
		if s.Account == srv.Inventory().Accounts[0].ID {
			want++
		}
	}
	if got := countLines(t, filepath.Join(dir, "stacks.jsonl")); got != want || queries[0].(map[string]any)["rows"] != float64(want) {
		t.Errorf("stacks.jsonl has %d rows, manifest says %v, want %d", got, queries[0].(map[string]any)["rows"], want)
	}
	if _, err := os.Stat(filepath.Join(dir, "regions.jsonl")); !os.IsNotExist(err) {
		t.Errorf("--schedule daily also ran the unscheduled query: %v", err)
	}
}

func TestRunQueryFlagExitCodesAndLogLevel(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(spoutConfig(srv, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPOUT_LOG_LEVEL", "warn")
	var out, errOut bytes.Buffer
	// missing_service is disabled, but naming it runs it; the fake has no Lambda.
	code := run(context.Background(), []string{"run", "-c", path, "--query", "regions", "--query", "missing_service"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	recs := logLines(t, out.String())
	m := manifestOf(t, recs)
	byName := map[string]map[string]any{}
	for _, q := range m["queries"].([]any) {
		byName[q.(map[string]any)["name"].(string)] = q.(map[string]any)
	}
	if byName["regions"]["status"] != "ok" || byName["missing_service"]["status"] != "failed" || len(byName) != 2 {
		t.Errorf("manifest queries = %v", byName)
	}
	if got := countLines(t, filepath.Join(dir, "regions.jsonl")); got != 3 {
		t.Errorf("regions.jsonl has %d rows, want 3", got)
	}
	for _, r := range recs[:len(recs)-1] {
		if r["level"] == "INFO" || r["level"] == "DEBUG" {
			t.Errorf("SPOUT_LOG_LEVEL=warn logged %v", r)
		}
	}
	if len(recs) < 2 {
		t.Errorf("the failed query was not logged at warn or above: %v", recs)
	}
}

func TestRunRefusesBadConfigurationAndUsage(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(spoutConfig(srv, dir), "sinks: [out]\n    sql: select name, region", "sinks: [outt]\n    sql: select name, regionn", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the manifest's errors, or on stderr
	}{
		{"no configuration", []string{"run"}, "no configuration: give -c spout.yaml, or set SPOUT_CONFIG or SPOUT_CONFIG_YAML"},
		{"missing file", []string{"run", "-c", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"unknown sink", []string{"run", "-c", bad}, bad + `:16:13: queries[0] (stacks): sinks: unknown sink "outt" (did you mean "out"?)`},
		{"unknown group", []string{"run", "-c", filepath.Join(dir, "good.yaml"), "--schedule", "weekly"}, `no schedule group is called "weekly"`},
		{"stray argument", []string{"run", "spout.yaml"}, "unexpected argument spout.yaml"},
		{"unknown flag", []string{"run", "--sql", "x"}, "unknown flag --sql"},
		{"shard past the count", []string{"run", "-c", filepath.Join(dir, "good.yaml"), "--shard", "3/2"},
			"--shard (or SPOUT_SHARD): shard 3/2: the shard index must be between 1 and the count, 2 (shards are counted from 1)"},
		{"no shards", []string{"run", "-c", filepath.Join(dir, "good.yaml"), "--shard", "0/0"},
			"--shard (or SPOUT_SHARD): shard 0/0: the shard count must be between 1 and 1000"},
		{"shard from the environment", []string{"run", "-c", filepath.Join(dir, "good.yaml"), "SPOUT_SHARD=two/4"},
			`--shard (or SPOUT_SHARD): shard "two/4": want I/N, e.g. 2/4 for the second of four shards`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if env, ok := strings.CutPrefix(tc.args[len(tc.args)-1], "SPOUT_SHARD="); ok {
				tc.args = tc.args[:len(tc.args)-1]
				t.Setenv("SPOUT_SHARD", env)
			}
			if err := os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(spoutConfig(srv, dir)), 0o644); err != nil {
				t.Fatal(err)
			}
			srv.ResetRequests()
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
			said := errOut.String()
			if out.Len() > 0 {
				m := manifestOf(t, logLines(t, out.String()))
				if m["status"] != "invalid" || m["exit_code"] != 2.0 {
					t.Errorf("manifest = %v", m)
				}
				for _, e := range m["errors"].([]any) {
					said += e.(string) + "\n"
				}
			}
			if !strings.Contains(said, tc.want) {
				t.Errorf("errors lack %q\nstdout: %s\nstderr: %s", tc.want, out.String(), errOut.String())
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("a refused run made %d AWS calls", n)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("refused runs wrote files: %v", entries)
	}
}

func TestValidateConfig(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "spout.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	text := spoutConfig(srv, dir)
	if err := os.WriteFile(good, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, "select name, region from", "select name, regionn from", 1)
	text = strings.Replace(text, "schedule: daily", "schedule: dailly", 1)
	text = strings.Replace(text, "  out: {type: file,", "  out: {type: file, colour: red,", 1)
	if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"validate", "-c", good}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if got := out.String(); got != "ok "+good+" (1 connections, 1 sinks, 3 queries)\n" {
		t.Errorf("stdout = %q", got)
	}

	// A structure error, a sink option and the SQL: all reported at once, in file order.
	out.Reset()
	if code := run(context.Background(), []string{"validate", "--config", bad}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "error "+bad+`:12:21: sinks.out: unknown key "colour"`) ||
		lines[1] != "error "+bad+`:15:15: queries[0] (stacks): schedule "dailly" is not defined under schedules (did you mean "daily"?)` ||
		!strings.HasPrefix(lines[2], "error "+bad+`:17:23: query stacks: `) || !strings.Contains(lines[2], `regionn`) {
		t.Errorf("stdout = %q, want the sink option, schedule and SQL errors", out.String())
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("validate made %d AWS calls", n)
	}
}

// --sql keeps its own contract: ok/error lines, exit 1.
func TestValidateSQLFiles(t *testing.T) {
	fakeAWS(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.sql"), filepath.Join(dir, "bad.sql")
	os.WriteFile(good, []byte("select name from aws_s3_bucket\n"), 0o644)
	os.WriteFile(bad, []byte("select nam\nfrom aws_s3_bucket\n"), 0o644)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"validate", "--sql", good, "--sql", bad}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s %s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != "ok "+good || !strings.HasPrefix(lines[1], "error "+bad+":1:8: ") {
		t.Errorf("stdout = %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"validate", "-c", "x.yaml", "--sql", good}, &out, &errOut); code != 2 {
		t.Errorf("-c with --sql: exit %d, want 2", code)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		files []string
		want  int64
	}{
		{[]string{write("v2", "536870912\n")}, 512 << 20},
		{[]string{write("v2max", "max\n"), write("v1", "1073741824\n")}, 0}, // v2 says unlimited
		{[]string{filepath.Join(dir, "absent"), write("v1b", "1073741824\n")}, 1 << 30},
		{[]string{write("v1none", "9223372036854771712\n")}, 0}, // v1's "no limit"
		{[]string{filepath.Join(dir, "absent")}, 0},
	} {
		if got := cgroupMemoryLimit(tc.files); got != tc.want {
			t.Errorf("cgroupMemoryLimit(%v) = %d, want %d", tc.files, got, tc.want)
		}
	}
}

func TestSetMemoryLimitDefersToGOMEMLIMIT(t *testing.T) {
	limit := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(limit, []byte("536870912\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, prev := cgroupMemoryFiles, debug.SetMemoryLimit(-1)
	cgroupMemoryFiles = []string{limit}
	t.Cleanup(func() { cgroupMemoryFiles = files; debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "200MiB")
	if got := setMemoryLimit(); got != 0 || debug.SetMemoryLimit(-1) != prev {
		t.Errorf("with GOMEMLIMIT set: limit %d set, want none", got)
	}
	// The runtime ignores an empty GOMEMLIMIT, so the container's limit applies.
	t.Setenv("GOMEMLIMIT", "")
	want := int64(512<<20) * 7 / 10
	if got := setMemoryLimit(); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("from a 512 MiB cgroup: set %d (runtime has %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}
}

func TestRunMetricsAndStopGraceFromTheEnvironment(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	// The CDK stack sets these three on the task definition.
	t.Setenv("SPOUT_CONFIG_YAML", spoutConfig(srv, dir))
	t.Setenv("SPOUT_METRICS", "emf")
	t.Setenv("SPOUT_METRICS_NAMESPACE", "Spout/Prod")
	t.Setenv("SPOUT_STOP_GRACE", "25s")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"run", "--schedule", "daily"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	recs := logLines(t, out.String())
	manifestOf(t, recs) // still the last line
	var namespaces []any
	for _, r := range recs {
		if aws, ok := r["_aws"].(map[string]any); ok {
			namespaces = append(namespaces, aws["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"])
			if r["Schedule"] != "daily" {
				t.Errorf("metrics record without the schedule group: %v", r)
			}
		}
	}
	// One record for the run, one for its one query.
	if len(namespaces) != 2 || namespaces[0] != "Spout/Prod" || namespaces[1] != "Spout/Prod" {
		t.Errorf("metrics namespaces = %v, want two records in Spout/Prod", namespaces)
	}

	// Without SPOUT_METRICS, a local run prints no metrics.
	t.Setenv("SPOUT_METRICS", "")
	out.Reset()
	if code := run(context.Background(), []string{"run", "--schedule", "daily"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), `"_aws"`) {
		t.Errorf("metrics written without SPOUT_METRICS:\n%s", out.String())
	}

	for env, want := range map[string]string{
		"SPOUT_STOP_GRACE": "SPOUT_STOP_GRACE",
		"SPOUT_METRICS":    "SPOUT_METRICS",
	} {
		t.Run("bad "+env, func(t *testing.T) {
			t.Setenv(env, "soon")
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"run", "--schedule", "daily"}, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "soon") {
				t.Errorf("stderr does not name %s and its value: %s", want, errOut.String())
			}
		})
	}
}
