package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
)

// The reference run's inventory: 10,000 resources over three accounts and three regions
// (the fake adds a few roles of its own).
const (
	refStacks    = 4000
	refInstances = 3000
	refBuckets   = 1000
	refRoles     = 2000
)

// referenceConfig is the reference run: ten queries over every account of the fake
// organization (discovery, one connection per account), results to PostgreSQL and files.
const referenceConfig = `
organization:
  role_name: SpoutQueryRole
  include_management: true
  regions: [us-east-1, eu-west-1, us-west-2]
  credential_source: Environment
  endpoint_url: ${BENCH_ENDPOINT}/_account/{{.AccountID}}

sinks:
  pg:
    type: postgres
    dsn_env: BENCH_PG_DSN
    mode: replace
  files:
    type: file
    path: ${BENCH_OUT}/{{.Query}}.jsonl.gz
    gzip: true

queries:
  - name: stacks
    sinks: [pg, files]
    sql: select account_id, region, name, status, creation_time, last_updated_time, tags from aws_cloudformation_stack
  - name: untagged_stacks
    sinks: [pg]
    sql: |
      select account_id, region, name from aws_cloudformation_stack
      where extract(day from current_timestamp - last_updated_time)::int < 90
        and not coalesce(tags ?& array['environment', 'department', 'service'], false)
  - name: stacks_by_status
    sinks: [files]
    sql: select account_id, region, status, count(*) as n from aws_cloudformation_stack group by 1, 2, 3
  - name: instances
    sinks: [pg, files]
    sql: select account_id, region, instance_id, instance_type, instance_state, launch_time, tags from aws_ec2_instance
  - name: running_by_type
    sinks: [pg]
    sql: select instance_type, count(*) as n from aws_ec2_instance where instance_state = 'running' group by 1
  - name: security_groups
    sinks: [files]
    sql: select account_id, region, group_id, group_name, vpc_id from aws_vpc_security_group
  - name: buckets
    sinks: [pg, files]
    sql: select account_id, region, name, creation_date, bucket_policy_is_public, tags from aws_s3_bucket
  - name: public_buckets
    sinks: [pg]
    sql: select account_id, name from aws_s3_bucket where bucket_policy_is_public
  - name: roles
    sinks: [pg, files]
    sql: select account_id, name, arn, create_date, attached_policy_arns, tags from aws_iam_role
  - name: admin_roles
    sinks: [pg]
    sql: |
      select account_id, name from aws_iam_role
      where attached_policy_arns ? 'arn:aws:iam::aws:policy/AdministratorAccess'
`

// BenchmarkReferenceRun runs `spout run` as a child process, as the container does, on
// the reference run and reports its wall time, its peak RSS (the Fargate task must fit
// 512 MB), and the time from process start to its first AWS API call and to the plugin's
// first API call. One op is one run; use -benchtime 1x.
func BenchmarkReferenceRun(b *testing.B) {
	bin := buildSpout(b)
	srv := fakeaws.New(fakeaws.Options{Seed: 42, Stacks: refStacks, Instances: refInstances, Buckets: refBuckets, Roles: refRoles})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	inv := srv.Inventory()
	b.Logf("inventory: %d stacks, %d instances, %d buckets, %d roles, %d security groups over %d accounts",
		len(inv.Stacks), len(inv.Instances), len(inv.Buckets), len(inv.Roles), len(inv.SecurityGroups), len(inv.Accounts))

	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(cfgPath, []byte(referenceConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	dsn := pgtest.DSN(b)
	env := referenceEnv(srv, dsn)

	var wall, toFirst, toPlugin time.Duration
	var peakKB int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		srv.ResetRequests()
		cmd := exec.Command(bin, "run", "-c", cfgPath)
		cmd.Env = append(env, "BENCH_OUT="+out)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Start()
		if err == nil {
			err = joinCgroup(cmd.Process.Pid)
			if werr := cmd.Wait(); err == nil {
				err = werr
			}
		}
		if err != nil {
			b.Fatalf("spout run: %v\nstderr: %s\nstdout tail: %s", err, stderr.String(), tail(stdout.String(), 3000))
		}
		wall += time.Since(start)
		b.StopTimer()
		// SPOUT_BENCH_KEEP=DIR keeps the child's output, e.g. with SPOUT_BENCH_ENV=GODEBUG=gctrace=1.
		if keep := os.Getenv("SPOUT_BENCH_KEEP"); keep != "" {
			for name, out := range map[string][]byte{"stdout.log": stdout.Bytes(), "stderr.log": stderr.Bytes()} {
				if err := os.WriteFile(filepath.Join(keep, name), out, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
		peakKB = max(peakKB, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		reqs := srv.Requests()
		first, plugin := firstRequests(reqs)
		toFirst += first.Sub(start)
		toPlugin += plugin.Sub(start)
		if i == 0 {
			checkReferenceRun(b, stdout.String(), dsn, out, len(reqs), inv)
			byAction := map[string]int{}
			for _, r := range reqs {
				byAction[r.Service+":"+r.Action]++
			}
			b.Logf("API requests by action: %v", byAction)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "s/run")
	b.ReportMetric(float64(peakKB)/1024, "MB-peak-rss")
	b.ReportMetric(float64(toFirst.Milliseconds())/n, "ms-to-first-api-call")
	b.ReportMetric(float64(toPlugin.Milliseconds())/n, "ms-to-first-plugin-call")
}

// referenceEnv is the environment spout run gets in the reference run: dummy AWS
// credentials, the fake's endpoint, the PostgreSQL DSN, nothing from the host's AWS setup.
func referenceEnv(srv *fakeaws.Server, dsn string) []string {
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIDSPOUTBENCH", "AWS_SECRET_ACCESS_KEY=spout-bench-secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ENDPOINT_URL="+srv.URL(), "BENCH_ENDPOINT="+srv.URL(), "BENCH_PG_DSN="+dsn,
		"SPOUT_LOG_LEVEL=info", "SPOUT_CONFIG=", "SPOUT_CONFIG_YAML=", "AWS_PROFILE=", "AWS_REGION=", "AWS_DEFAULT_REGION=")
	// SPOUT_BENCH_ENV adds settings to the child's environment, e.g. GOMEMLIMIT=300MiB.
	return append(env, strings.Fields(os.Getenv("SPOUT_BENCH_ENV"))...)
}

// joinCgroup moves the child into the cgroup SPOUT_BENCH_CGROUP names (a directory with a
// cgroup.procs file), so the run can be held to a task's memory, as Fargate holds it:
//
//	mkdir /sys/fs/cgroup/memory/spout && echo 512M > /sys/fs/cgroup/memory/spout/memory.limit_in_bytes
//	SPOUT_BENCH_CGROUP=/sys/fs/cgroup/memory/spout SPOUT_BENCH_ENV=GOMEMLIMIT=358MiB go test ./bench -run '^$' -bench ReferenceRun -benchtime 1x
//
// The child starts outside it; the first milliseconds of start-up are not what counts.
func joinCgroup(pid int) error {
	dir := os.Getenv("SPOUT_BENCH_CGROUP")
	if dir == "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("moving spout into cgroup %s: %w", dir, err)
	}
	return nil
}

// firstRequests returns when the first request, and the first request of the plugin (not
// discovery's Organizations and STS calls), reached the fake.
func firstRequests(reqs []fakeaws.Request) (first, plugin time.Time) {
	for _, r := range reqs {
		if first.IsZero() || r.Time.Before(first) {
			first = r.Time
		}
		if r.Service != "organizations" && r.Service != "sts" || r.Action == "GetCallerIdentity" {
			if plugin.IsZero() || r.Time.Before(plugin) {
				plugin = r.Time
			}
		}
	}
	return first, plugin
}

// checkReferenceRun makes sure the run did the whole job, so a broken setup cannot pass
// as fast.
func checkReferenceRun(b *testing.B, stdout, dsn, out string, requests int, inv fakeaws.Inventory) {
	b.Helper()
	var manifest map[string]any
	heartbeats := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			b.Fatalf("stdout line is not JSON: %q", tail(sc.Text(), 300))
		}
		switch rec["msg"] {
		case "run manifest":
			manifest = rec["manifest"].(map[string]any)
		case "heartbeat":
			heartbeats++
		}
	}
	if manifest == nil || manifest["status"] != "ok" || len(manifest["queries"].([]any)) != 10 {
		b.Fatalf("manifest = %v", manifest)
	}
	rows := map[string]float64{}
	var took []string
	for _, q := range manifest["queries"].([]any) {
		q := q.(map[string]any)
		rows[q["name"].(string)] = q["rows"].(float64)
		took = append(took, fmt.Sprintf("%s %.1fs", q["name"], q["duration_ms"].(float64)/1000))
	}
	b.Logf("query durations: %s", strings.Join(took, ", "))
	want := map[string]float64{"stacks": float64(len(inv.Stacks)), "instances": float64(len(inv.Instances)),
		"buckets": float64(len(inv.Buckets)), "roles": float64(len(inv.Roles))}
	for q, n := range want {
		if rows[q] != n {
			b.Errorf("query %s delivered %v rows, want %v", q, rows[q], n)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "select (select count(*) from stacks) + (select count(*) from instances) + (select count(*) from buckets) + (select count(*) from roles)").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if total := len(inv.Stacks) + len(inv.Instances) + len(inv.Buckets) + len(inv.Roles); n != total {
		b.Errorf("postgres holds %d resources, want %d", n, total)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.jsonl.gz"))
	if len(files) != 6 {
		b.Errorf("%d result files, want 6", len(files))
	}
	b.Logf("%d API requests, %d heartbeats; rows per query: %v", requests, heartbeats, rows)
}

// buildSpout builds the binary the container runs.
func buildSpout(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "spout")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/spoutdev/spout/cmd/spout")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building spout: %v\n%s", err, out)
	}
	return bin
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
