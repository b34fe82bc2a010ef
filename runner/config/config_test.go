package config_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/runner/config"
)

func env(vars map[string]string) config.Getenv {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

const full = `# a comment with ${NOT_A_REFERENCE}
connections:
  aws_prod:
    plugin: aws
    config: |
      regions = ["us-east-1"]
      profile = "prod"
  aws_dev:
    plugin: aws
  all:
    plugin: aws
    type: aggregator
    connections: ["aws_*"]

schedules:
  daily: cron(0 6 * * ? *)
  hourly: " rate(1 hour) "

sinks:
  dashboard:
    type: postgres
    dsn_env: PG_DSN
  alerts:
    type: webhook
    url: ${HOOK_URL}/path

queries:
  - name: stacks
    schedule: daily
    sinks: [dashboard, alerts]
    timeout: 5m
    sql: |
      select name
      from aws_cloudformation_stack
  - name: buckets
    schedule: hourly
    sinks: [alerts]
    sql: "select name from aws_s3_bucket"
  - name: off
    enabled: false
    sinks: [alerts]
    sql_file: off.sql

run:
  concurrency: 3
  heartbeat: 10s
  manifest_sinks: [dashboard]
  query_cache_mb: 16
  memory_limit: 256MB
`

// parseFull parses full, with off.sql beside it and HOOK_URL set.
func parseFull(t *testing.T) (dir string, cfg *config.Config) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "off.sql"), []byte("select 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("spout.yaml", dir, []byte(full), env(map[string]string{"HOOK_URL": "https://hooks.example"}))
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func TestParseFullConfig(t *testing.T) {
	dir, cfg := parseFull(t)
	var names []string
	for _, c := range cfg.Connections {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"aws_prod", "aws_dev", "all"}) {
		t.Errorf("connections in file order = %v", names)
	}
	if c := cfg.Connection("aws_prod"); c.Config != "regions = [\"us-east-1\"]\nprofile = \"prod\"\n" || c.Aggregator() {
		t.Errorf("aws_prod = %+v", c)
	}
	if c := cfg.Connection("all"); !c.Aggregator() || !slices.Equal(c.Connections, []string{"aws_*"}) {
		t.Errorf("all = %+v", c)
	}
	if len(cfg.Schedules) != 2 || cfg.Schedules[1].Group != "hourly" || cfg.Schedules[1].Expression != "rate(1 hour)" {
		t.Errorf("schedules = %+v", cfg.Schedules)
	}
	if s := cfg.Sink("alerts"); s.Type != "webhook" || s.Node.Content[3].Value != "https://hooks.example/path" {
		t.Errorf("alerts sink: type %q, url %q (want ${HOOK_URL} expanded)", s.Type, s.Node.Content[3].Value)
	}
	q := cfg.Query("stacks")
	if q.Timeout.D() != 5*time.Minute || q.Schedule != "daily" || !slices.Equal(q.Sinks, []string{"dashboard", "alerts"}) ||
		q.Text != "select name\nfrom aws_cloudformation_stack\n" || !q.IsEnabled() {
		t.Errorf("stacks = %+v", q)
	}
	if off := cfg.Query("off"); off.IsEnabled() || off.Text != "select 1\n" || off.TextFile != filepath.Join(dir, "off.sql") {
		t.Errorf("off = %+v", off)
	}
	r := cfg.Run
	if r.Concurrency != 3 || r.Heartbeat.D() != 10*time.Second || r.QueryCacheMB != 16 || r.MemoryLimit != "256MB" ||
		!slices.Equal(r.ManifestSinks, []string{"dashboard"}) {
		t.Errorf("run = %+v", r)
	}
}

func TestSQLPositionsMapToTheFile(t *testing.T) {
	dir, cfg := parseFull(t)
	for _, tc := range []struct {
		query     string
		line, col int
		file      string
		want      config.Pos
	}{
		// "from" on the second line of the | block: file line 34, indented 6.
		{"stacks", 2, 1, "spout.yaml", config.Pos{Line: 34, Column: 7}},
		{"stacks", 1, 8, "spout.yaml", config.Pos{Line: 33, Column: 14}},
		{"stacks", 0, 0, "spout.yaml", config.Pos{Line: 33, Column: 7}},
		// "aws_s3_bucket" in a quoted scalar: after the quote.
		{"buckets", 1, 18, "spout.yaml", config.Pos{Line: 38, Column: 28}},
		{"off", 1, 8, filepath.Join(dir, "off.sql"), config.Pos{Line: 1, Column: 8}},
	} {
		file, pos := cfg.Query(tc.query).SQLPos(tc.line, tc.col)
		if file != tc.file || pos != tc.want {
			t.Errorf("%s SQLPos(%d, %d) = %s %+v, want %s %+v", tc.query, tc.line, tc.col, file, pos, tc.file, tc.want)
		}
	}
	lines := strings.Split(full, "\n")
	if got := lines[33][6:]; !strings.HasPrefix(got, "from aws_cloudformation_stack") {
		t.Fatalf("test fixture moved: line 34 is %q", lines[33])
	}
	if got := lines[37][27:]; !strings.HasPrefix(got, "aws_s3_bucket") {
		t.Fatalf("test fixture moved: line 38 col 28 is %q", got)
	}
}

// Every class of problem is reported at its position, all in one pass.
func TestParseReportsEveryErrorWithItsPosition(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want []string // "line:col: substring", in order
	}{
		{"yaml syntax", "connections: {}\nqueries: [\n", nil,
			[]string{"2:1: did not find expected node content"}},
		{"unknown keys, with a suggestion", `
conections: {}
queries:
  - name: q
    sqll: select 1
    sinks: [out]
sinks:
  out: {type: file, path: "-"}
`, nil, []string{
			`2:1: unknown key "conections" (did you mean "connections"?)`,
			`2:1: no connections`,
			`4:5: queries[0] (q): give the query as sql or sql_file`,
			`5:5: queries[0]: unknown key "sqll" (did you mean "sql"?)`,
		}},
		{"wrong types and enums", `
connections:
  a:
    plugin: aws
    type: aggregate
    connections: aws_*
queries:
  - name: q
    sql: select 1
    sinks: out
    timeout: soon
    enabled: maybe
sinks:
  out: {type: file, path: "-"}
run:
  concurrency: many
`, nil, []string{
			`5:11: connections.a.type: "aggregate" is not one of connection, aggregator`,
			`6:18: connections.a.connections: want a list`,
			`10:12: queries[0].sinks: want a list`,
			`11:14: queries[0].timeout: "soon" is not a duration`,
			`12:14: queries[0].enabled: want true or false`,
			`16:16: run.concurrency: want a whole number`,
		}},
		{"missing required fields", `
connections:
  a: {config: "x = 1"}
queries:
  - sql: select 1
organization:
  regions: [us-east-1]
`, nil, []string{
			`3:6: connections.a: plugin is required`,
			`5:5: queries[0]: name is required`,
			`5:5: queries[0]: sinks is required`,
			`7:3: organization: role_name is required`,
		}},
		{"duplicate names", `
connections:
  a: {plugin: aws}
  a: {plugin: aws}
sinks:
  out: {type: file, path: "-"}
  out: {type: file, path: "x"}
queries:
  - {name: q, sql: select 1, sinks: [out, out]}
  - {name: q, sql: select 2, sinks: [out]}
`, nil, []string{
			`4:3: connections: a is defined twice (first at line 3)`,
			`7:3: sinks: out is defined twice (first at line 6)`,
			`9:43: queries[0] (q): sinks: out is listed twice`,
			`10:12: queries[1] (q): another query is called q (line 9)`,
		}},
		{"references", `
connections:
  aws_a: {plugin: aws}
  agg: {plugin: aws, type: aggregator, connections: ["gcp_*", "aws_*"]}
schedules:
  daily: every day
  "bad group!": rate(1 day)
sinks:
  out: {type: file, path: "-"}
queries:
  - {name: q, sql: select 1, sinks: [outt], schedule: dayly}
run:
  manifest_sinks: [nowhere]
`, nil, []string{
			`4:54: connections.agg: "gcp_*" matches no aws connection`,
			`6:10: schedules.daily: "every day" is not an EventBridge schedule`,
			`7:3: schedules.bad group!: group names use letters`,
			`11:38: queries[0] (q): sinks: unknown sink "outt" (did you mean "out"?)`,
			`11:55: queries[0] (q): schedule "dayly" is not defined under schedules (did you mean "daily"?)`,
			`13:20: run.manifest_sinks: unknown sink "nowhere"`,
		}},
		{"names", `
connections:
  Prod-Account: {plugin: aws}
sinks:
  out: {type: file, path: "-"}
queries:
  - {name: Stale-Stacks, sql: select 1, sinks: [out]}
`, nil, []string{
			`3:3: connections.Prod-Account: connection names start with a lower-case letter`,
			`7:12: queries[0] (Stale-Stacks): query names start with a lower-case letter`,
		}},
		{"organization", `
organization:
  role_name: "not a role"
  exclude: [123456789012, "12345"]
  credential_source: Instance
connections:
  aws: {plugin: aws}
sinks:
  out: {type: file, path: "-"}
queries:
  - {name: q, sql: select 1, sinks: [out]}
`, nil, []string{
			`3:14: organization.role_name: "not a role" is not an IAM role name`,
			`4:27: organization.exclude: "12345" is not a 12-digit account id`,
			`5:22: organization.credential_source: "Instance" is not one of EcsContainer, Environment, Ec2InstanceMetadata`,
			`7:3: connections.aws: organization discovery creates this connection`,
		}},
		{"unset environment variables, inside a block too", `
connections:
  a:
    plugin: aws
    config: |
      regions = ["us-east-1"]
      profile = "${AWS_PROFILE_NAME}"
sinks:
  out: {type: webhook, url: "${HOOK}"}
queries:
  - {name: q, sql: select 1, sinks: [out]}
`, map[string]string{}, []string{
			`7:18: environment variable AWS_PROFILE_NAME is not set`,
			`9:30: environment variable HOOK is not set`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("spout.yaml", t.TempDir(), []byte(tc.yaml), env(tc.env))
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			if len(errs) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, w := range tc.want {
				if i >= len(errs) {
					break
				}
				loc, msg, _ := strings.Cut(w, ": ")
				if got := errs[i].Error(); !strings.HasPrefix(got, "spout.yaml:"+loc+": ") || !strings.Contains(got, msg) {
					t.Errorf("error %d = %q, want spout.yaml:%s...", i, got, w)
				}
			}
		})
	}
}

func TestReferenceDefaultsAndEscapes(t *testing.T) {
	cfg, err := config.Parse("spout.yaml", ".", []byte(`
connections: {aws: {plugin: aws, config: "${A:-x = 1}${B:-}"}}
sinks: {out: {type: file, path: "${SET:-unused}"}}
queries:
  - {name: q, sinks: [out], sql: "select '$${HOME}' as x"}
`), env(map[string]string{"SET": "out.jsonl"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Query("q").Text; got != "select '${HOME}' as x" {
		t.Errorf("sql = %q, want the escaped reference kept literally", got)
	}
	if got := cfg.Connection("aws").Config; got != "x = 1" {
		t.Errorf("config = %q, want the defaults of two unset variables", got)
	}
	if got := cfg.Sink("out").Node.Content[3].Value; got != "out.jsonl" {
		t.Errorf("path = %q, want the variable's value over its default", got)
	}
}

func TestLoadFromFileEnvAndInlineBase64(t *testing.T) {
	text := "connections: {aws: {plugin: aws}}\nsinks: {out: {type: file, path: \"-\"}}\nqueries:\n  - {name: q, sinks: [out], sql: select 1}\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		env        map[string]string
		wantFile   string
	}{
		{"path", path, nil, path},
		{"SPOUT_CONFIG", "", map[string]string{"SPOUT_CONFIG": path}, path},
		{"path wins over SPOUT_CONFIG_YAML", path, map[string]string{"SPOUT_CONFIG_YAML": "garbage"}, path},
		{"inline plain", "", map[string]string{"SPOUT_CONFIG_YAML": text}, "$SPOUT_CONFIG_YAML"},
		{"inline base64", "", map[string]string{"SPOUT_CONFIG_YAML": base64.StdEncoding.EncodeToString([]byte(text))}, "$SPOUT_CONFIG_YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(tc.path, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.File != tc.wantFile || cfg.Query("q").Text != "select 1" {
				t.Errorf("file %q, query %+v", cfg.File, cfg.Query("q"))
			}
		})
	}
	if _, err := config.Load("", env(nil)); !errors.Is(err, config.ErrNoConfig) {
		t.Errorf("no config: %v, want ErrNoConfig", err)
	}
}

func TestSelect(t *testing.T) {
	_, cfg := parseFull(t)
	names := func(qs []*config.Query) []string {
		var out []string
		for _, q := range qs {
			out = append(out, q.Name)
		}
		return out
	}
	for _, tc := range []struct {
		names []string
		group string
		want  []string
		err   string
	}{
		{nil, "", []string{"stacks", "buckets"}, ""},
		{nil, "daily", []string{"stacks"}, ""},
		{[]string{"off"}, "", []string{"off"}, ""},
		{[]string{"off", "stacks"}, "", []string{"stacks", "off"}, ""},
		{[]string{"stacks"}, "hourly", nil, "no enabled query matches"},
		{[]string{"stack"}, "", nil, `no query is called "stack" (did you mean "stacks"?)`},
		{nil, "weekly", nil, `no schedule group is called "weekly"`},
	} {
		got, err := cfg.Select(tc.names, tc.group)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Select(%v, %q) error = %v, want %q", tc.names, tc.group, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(names(got), tc.want) {
			t.Errorf("Select(%v, %q) = %v, %v; want %v", tc.names, tc.group, names(got), err, tc.want)
		}
	}
}

// The shape in docs/config.md is a valid configuration.
func TestDocsExampleParses(t *testing.T) {
	md, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "## The whole shape\n\n```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/config.md has no yaml block under \"The whole shape\"")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "queries"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "queries", "public_buckets.sql"), []byte("select name from aws_s3_bucket"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("config.md", dir, []byte(block), env(map[string]string{"ALERTS_WEBHOOK_URL": "https://hooks.example.com", "GRAFANA_DB_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) != 3 || cfg.Organization == nil || len(cfg.Sinks) != 3 || len(cfg.Queries) != 3 ||
		cfg.Organization.CredentialSource != "EcsContainer" || cfg.Run.QueryCacheMB != 0 || cfg.Serve == nil || len(cfg.Serve.Users) != 2 {
		t.Errorf("parsed %+v", cfg)
	}
	if q := cfg.Query("bucket_changes"); !q.Diffed() || !slices.Equal(q.Diff.Key, []string{"arn"}) ||
		!slices.Equal(q.Diff.SnapshotSinks, []string{"dashboard"}) || q.FirstRun() != config.FirstRunAdded ||
		cfg.State == nil || cfg.State.Type != config.StatePostgres || cfg.State.DSNEnv != "SPOUT_PG_DSN" {
		t.Errorf("diff query %+v, state %+v", q.Diff, cfg.State)
	}
}
