package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

const (
	mgmtAccount   = "111111111111"
	memberA       = "222222222222"
	memberB       = "333333333333"
	brokenAccount = "444444444444"
)

var awsPlugins = map[string]query.PluginFunc{"aws": aws.Plugin}

// webhookReceiver keeps every JSON body POSTed to it.
type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	w := &webhookReceiver{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("webhook body is not JSON: %q", b)
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// rows returns the rows of every batch of query's result, in sequence order, and
// whether the last batch said final.
func (w *webhookReceiver) rows(query string) (rows []map[string]any, final bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var batches []map[string]any
	for _, b := range w.bodies {
		if b["query"] == query {
			batches = append(batches, b)
		}
	}
	sort.Slice(batches, func(i, j int) bool { return batches[i]["sequence"].(float64) < batches[j]["sequence"].(float64) })
	for i, b := range batches {
		for _, r := range b["rows"].([]any) {
			rows = append(rows, r.(map[string]any))
		}
		final = b["final"] == true && i == len(batches)-1
	}
	return rows, final
}

// received returns every body received so far.
func (w *webhookReceiver) received() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.bodies)
}

// loadConfig writes text to path and loads it.
func loadConfig(t *testing.T, path, text string) *config.Config {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runConfig parses text and runs it, returning the manifest and the log lines.
func runConfig(t *testing.T, text string, o runner.Options) (*runner.Manifest, []map[string]any) {
	t.Helper()
	return runParsed(t, loadConfig(t, filepath.Join(t.TempDir(), "spout.yaml"), text), o)
}

func runParsed(t *testing.T, cfg *config.Config, o runner.Options) (*runner.Manifest, []map[string]any) {
	t.Helper()
	var log bytes.Buffer
	o.Plugins = awsPlugins
	o.Logger = slog.New(slog.NewJSONHandler(&lockedBuffer{b: &log}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m := runner.Run(ctx, cfg, o)
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(log.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		recs = append(recs, rec)
	}
	return m, recs
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func logged(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// s3Objects reads every object under prefix in the fake's bucket: key → JSON lines.
func s3Objects(t *testing.T, srv *fakeaws.Server, bucket, prefix string) map[string][]map[string]any {
	t.Helper()
	ctx := context.Background()
	client := fakeS3(srv)
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: awsv2.String(bucket), Prefix: awsv2.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, o := range list.Contents {
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: awsv2.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = obj.Body
		if strings.HasSuffix(*o.Key, ".gz") {
			if r, err = gzip.NewReader(obj.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(r)
		obj.Body.Close()
		var rows []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var row map[string]any
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %q is not JSON", *o.Key, line)
			}
			rows = append(rows, row)
		}
		out[*o.Key] = rows
	}
	return out
}

func fakeS3(srv *fakeaws.Server) *s3.Client {
	return s3.NewFromConfig(awsv2.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSPOUTTEST", "secret", ""),
		BaseEndpoint: awsv2.String(srv.URL()),
	}, func(o *s3.Options) { o.UsePathStyle = true })
}

func pgStrings(t *testing.T, dsn, sql string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	sort.Strings(out)
	return out
}

func keys(rows []map[string]any, cols ...string) []string {
	var out []string
	for _, r := range rows {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i], _ = r[c].(string)
		}
		out = append(out, strings.Join(parts, "/"))
	}
	sort.Strings(out)
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the seeded inventory gives no expected rows; the test proves nothing", what)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: got %d rows, want %d\ngot:  %v\nwant: %v", what, len(got), len(want), got, want)
	}
}

// The acceptance test of the runner: organization discovery over three member accounts
// with throttling on, one of them with a role that cannot be assumed; three queries;
// PostgreSQL, S3 and webhook sinks; the manifest and the exit code.
func TestRunnerEndToEnd(t *testing.T) {
	srv := startFake(t, fakeaws.Options{
		Seed:         21,
		Accounts:     []string{mgmtAccount, memberA, memberB, brokenAccount},
		ThrottleRate: 0.2,
		DenyAssume:   []string{brokenAccount},
	})
	// Discovery's own calls and the S3 sink use the standard AWS configuration.
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	if _, err := fakeS3(srv).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awsv2.String("spout-results")}); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.DSN(t)
	t.Setenv("E2E_PG_DSN", dsn)
	hook := newWebhookReceiver(t)
	t.Setenv("E2E_HOOK_URL", hook.srv.URL+"/hooks/spout")
	t.Setenv("E2E_ENDPOINT", srv.URL())

	m, recs := runConfig(t, `
organization:
  role_name: SpoutQueryRole
  regions: [us-east-1, eu-west-1, us-west-2]
  credential_source: Environment
  endpoint_url: ${E2E_ENDPOINT}/_account/{{.AccountID}}

sinks:
  pg:
    type: postgres
    dsn_env: E2E_PG_DSN
    mode: append
  lake:
    type: s3
    bucket: spout-results
    prefix: spout/
    endpoint: ${E2E_ENDPOINT}
    path_style: true
    format: jsonl
    gzip: true
  hook:
    type: webhook
    url: ${E2E_HOOK_URL}
    batch: {rows: 5}

queries:
  - name: untagged_stacks
    sinks: [pg, hook]
    sql: |
`+indent(taggingPolicy, "      ")+`
  - name: public_buckets
    sinks: [lake, hook]
    sql: select name, region, account_id from aws_s3_bucket where bucket_policy_is_public
  - name: running_instances
    sinks: [pg, lake]
    timeout: 2m
    sql: |
      select instance_id, account_id, region, instance_type
      from aws_ec2_instance
      where instance_state = 'running'

run:
  concurrency: 2
  heartbeat: 250ms
  manifest_sinks: [pg]
`, runner.Options{})

	inv := srv.Inventory()
	members := map[string]bool{memberA: true, memberB: true}
	wantStacks := expectedNonCompliant(inv, members, time.Now())
	var wantBuckets, wantInstances []string
	for _, b := range inv.Buckets {
		if members[b.Account] && b.Public {
			wantBuckets = append(wantBuckets, b.Account+"/"+b.Region+"/"+b.Name)
		}
	}
	for _, in := range inv.Instances {
		if members[in.Account] && in.State == "running" {
			wantInstances = append(wantInstances, in.Account+"/"+in.Region+"/"+in.ID)
		}
	}
	sort.Strings(wantBuckets)
	sort.Strings(wantInstances)

	// The manifest: every query ran on the two good accounts; the broken one is a
	// per-connection error, which makes the run exit 1.
	if m.ExitCode != runner.ExitFailed || m.Status != runner.StatusFailed || len(m.Errors) != 0 {
		t.Fatalf("exit %d, status %s, errors %v; want 1, failed, none", m.ExitCode, m.Status, m.Errors)
	}
	acc := m.Accounts
	if acc == nil || !slices.Equal(acc.Ready, []string{"aws_" + memberA, "aws_" + memberB}) ||
		!strings.Contains(acc.Failed["aws_"+brokenAccount], "AccessDenied") || !strings.HasPrefix(acc.Skipped[mgmtAccount], "management account") {
		t.Fatalf("accounts = %+v", acc)
	}
	wantRows := map[string]int{"untagged_stacks": len(wantStacks), "public_buckets": len(wantBuckets), "running_instances": len(wantInstances)}
	for _, q := range m.Queries {
		if q.Status != runner.StatusPartial || q.Error != "" || q.Rows != int64(wantRows[q.Name]) {
			t.Errorf("query %s: status %s, rows %d (want partial, %d), error %q", q.Name, q.Status, q.Rows, wantRows[q.Name], q.Error)
		}
		if c := q.Connections["aws_"+brokenAccount]; !strings.Contains(c.Error, "AccessDenied") {
			t.Errorf("query %s: the broken account's connection = %+v, want its AccessDenied", q.Name, c)
		}
		for _, a := range []string{memberA, memberB} {
			if c := q.Connections["aws_"+a]; c.Error != "" || c.RowsFetched == 0 {
				t.Errorf("query %s: connection aws_%s = %+v, want rows and no error", q.Name, a, c)
			}
		}
		for _, s := range q.Sinks {
			if s.Status != runner.Delivered || s.Rows != q.Rows {
				t.Errorf("query %s sink %s = %+v, want all %d rows delivered", q.Name, s.Name, s, q.Rows)
			}
		}
	}
	if len(m.ManifestSinks) != 1 || m.ManifestSinks[0].Status != runner.Delivered {
		t.Errorf("manifest sinks = %+v", m.ManifestSinks)
	}

	// PostgreSQL: exactly the expected rows, tagged with the run.
	sameList(t, "postgres untagged_stacks",
		pgStrings(t, dsn, "select account_id || '/' || region || '/' || name from untagged_stacks"), wantStacks)
	sameList(t, "postgres running_instances",
		pgStrings(t, dsn, "select account_id || '/' || region || '/' || instance_id from running_instances"), wantInstances)
	if ids := pgStrings(t, dsn, "select distinct _spout_run_id from untagged_stacks union select distinct _spout_run_id from running_instances"); !slices.Equal(ids, []string{m.RunID}) {
		t.Errorf("run ids in postgres = %v, want [%s]", ids, m.RunID)
	}
	if got := pgStrings(t, dsn, "select query || ':' || status || ':' || rows from spout_manifest"); !slices.Equal(got, []string{
		"public_buckets:partial:" + strconv.Itoa(len(wantBuckets)), "running_instances:partial:" + strconv.Itoa(len(wantInstances)), "untagged_stacks:partial:" + strconv.Itoa(len(wantStacks)),
	}) {
		t.Errorf("spout_manifest rows = %v", got)
	}

	// S3: one gzipped JSON-lines object per result, under the date and run.
	objects := s3Objects(t, srv, "spout-results", "spout/")
	date := m.StartedAt.Format("2006-01-02")
	if len(objects) != 2 {
		t.Fatalf("objects = %v, want one per s3 result", slices.Collect(maps.Keys(objects)))
	}
	sameList(t, "s3 public_buckets", keys(objects["spout/public_buckets/dt="+date+"/"+m.RunID+".jsonl.gz"], "account_id", "region", "name"), wantBuckets)
	sameList(t, "s3 running_instances", keys(objects["spout/running_instances/dt="+date+"/"+m.RunID+".jsonl.gz"], "account_id", "region", "instance_id"), wantInstances)

	// Webhook: every row, in batches of at most 5, the last one final.
	stacks, final := hook.rows("untagged_stacks")
	sameList(t, "webhook untagged_stacks", keys(stacks, "account_id", "region", "name"), wantStacks)
	if !final {
		t.Error("webhook untagged_stacks: no final batch")
	}
	buckets, final := hook.rows("public_buckets")
	sameList(t, "webhook public_buckets", keys(buckets, "account_id", "region", "name"), wantBuckets)
	if n := len(hook.received()); !final || n < (len(wantStacks)+4)/5+(len(wantBuckets)+4)/5 {
		t.Errorf("webhook: final %v, %d requests", final, n)
	}

	// The log: a start and an end per query, with connections and errors; the manifest
	// last.
	if n := len(logged(recs, "query started")); n != 3 {
		t.Errorf("%d query started events, want 3", n)
	}
	ends := logged(recs, "query finished without some connections")
	if len(ends) != 3 {
		t.Fatalf("%d partial query ends, want 3", len(ends))
	}
	for _, e := range ends {
		if errs := e["connection_errors"].(map[string]any); !strings.Contains(errs["aws_"+brokenAccount].(string), "AccessDenied") {
			t.Errorf("end event = %v", e)
		}
	}
	if beats := logged(recs, "heartbeat"); len(beats) == 0 || beats[0]["queries_total"] != 3.0 {
		t.Errorf("heartbeats = %v, want at least one over a run of seconds at 250ms", beats)
	}
	if unreachable := logged(recs, "account unreachable: its rows will be missing"); len(unreachable) != 1 || unreachable[0]["account_id"] != brokenAccount {
		t.Errorf("discovery did not log the broken account: %v", unreachable)
	}
	if last := recs[len(recs)-1]; last["msg"] != "run manifest" || last["manifest"].(map[string]any)["exit_code"] != 1.0 {
		t.Errorf("last log line = %v", last)
	}

	// What reached AWS: the plugin queried the two good accounts only, as themselves;
	// the throttling was real.
	throttled := 0
	for _, r := range srv.Requests() {
		if r.Throttled {
			throttled++
		}
		if (r.Service == "cloudformation" || r.Service == "ec2") && !members[r.Account] {
			t.Errorf("%s %s called as account %s", r.Service, r.Action, r.Account)
		}
	}
	if throttled == 0 {
		t.Error("no request was throttled; the test does not exercise retries")
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// With organization discovery, validation plans the queries against stand-in accounts:
// no account is listed, no role assumed, no API called.
func TestValidateOrganizationConfigCallsNothing(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 1})
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	dir := t.TempDir()
	path := filepath.Join(dir, "spout.yaml")
	text := `organization:
  role_name: SpoutQueryRole
  regions: [us-east-1]
sinks:
  out: {type: file, path: "` + dir + `/{{.Query}}.jsonl"}
queries:
  - name: all_accounts
    sinks: [out]
    sql: select account_id, name from aws_s3_bucket
  - name: one_account
    sinks: [out]
    sql: select name from aws_123456789012.aws_cloudformation_stack
  - name: typo
    sinks: [out]
    sql: select nme from aws.aws_iam_role
`
	err := runner.Validate(context.Background(), loadConfig(t, path, text), awsPlugins, slog.New(slog.DiscardHandler))
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), path+":15:17: query typo: ") {
		t.Fatalf("got %v, want only the typo, at 15:17", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("validation made %d AWS calls", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("validation wrote files: %v", entries)
	}
}
