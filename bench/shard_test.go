package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
)

// The sharded run's organization: 100 accounts in 4 regions, every call 50 ms late and
// one in ten throttled.
const (
	shardAccounts  = 100
	shardLatency   = 50 * time.Millisecond
	shardThrottle  = 0.1
	shardStacks    = 4000
	shardInstances = 2000
)

var shardRegions = []string{"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"}

const shardConfig = `
organization:
  role_name: SpoutQueryRole
  include_management: true
  regions: [us-east-1, eu-west-1, us-west-2, ap-southeast-2]
  credential_source: Environment
  endpoint_url: ${BENCH_ENDPOINT}/_account/{{.AccountID}}

sinks:
  pg:
    type: postgres
    dsn_env: BENCH_PG_DSN
    mode: replace

queries:
  - name: stacks
    sinks: [pg]
    sql: select account_id, region, name, status, last_updated_time, tags from aws_cloudformation_stack
  - name: instances
    sinks: [pg]
    sql: select account_id, region, instance_id, instance_type, instance_state, tags from aws_ec2_instance
`

// BenchmarkShardedRun runs the same organization as one `spout run` and as four
// `spout run --shard I/4` child processes side by side, all replacing into one
// PostgreSQL database, and reports per run the wall time (first start to last exit),
// the API calls and the throttled calls the SDK retried, and the largest peak RSS of a
// shard. One op is one run; use -benchtime 1x:
//
//	go test ./bench -run '^$' -bench ShardedRun -benchtime 1x
func BenchmarkShardedRun(b *testing.B) {
	bin := buildSpout(b)
	accounts := make([]string, shardAccounts)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+i*7919)
	}
	srv := fakeaws.New(fakeaws.Options{Seed: 7, Accounts: accounts, Regions: shardRegions,
		Stacks: shardStacks, Instances: shardInstances, Latency: shardLatency, ThrottleRate: shardThrottle})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	inv := srv.Inventory()
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(cfgPath, []byte(shardConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIDSPOUTBENCH", "AWS_SECRET_ACCESS_KEY=spout-bench-secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ENDPOINT_URL="+srv.URL(), "BENCH_ENDPOINT="+srv.URL(),
		"SPOUT_LOG_LEVEL=warn", "SPOUT_CONFIG=", "SPOUT_CONFIG_YAML=", "SPOUT_SHARD=", "AWS_PROFILE=", "AWS_REGION=", "AWS_DEFAULT_REGION=")
	env = append(env, strings.Fields(os.Getenv("SPOUT_BENCH_ENV"))...)

	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			dsn := pgtest.DSN(b)
			var wall time.Duration
			var calls, throttled int
			var peakKB int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				srv.ResetRequests()
				cmds := make([]*exec.Cmd, shards)
				outs := make([]*bytes.Buffer, shards)
				start := time.Now()
				for s := range cmds {
					args := []string{"run", "-c", cfgPath}
					if shards > 1 {
						args = append(args, "--shard", fmt.Sprintf("%d/%d", s+1, shards))
					}
					cmd := exec.Command(bin, args...)
					cmd.Env = append(env, "BENCH_PG_DSN="+dsn)
					outs[s] = &bytes.Buffer{}
					cmd.Stdout, cmd.Stderr = outs[s], outs[s]
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					cmds[s] = cmd
				}
				for s, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						b.Fatalf("shard %d/%d: %v\n%s", s+1, shards, err, tail(outs[s].String(), 3000))
					}
				}
				wall += time.Since(start)
				b.StopTimer()
				for _, cmd := range cmds {
					peakKB = max(peakKB, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
				}
				for _, r := range srv.Requests() {
					calls++
					if r.Throttled {
						throttled++
					}
				}
				checkShardedRun(b, outs, dsn, len(inv.Stacks), len(inv.Instances))
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(wall.Seconds()/n, "s/run")
			b.ReportMetric(float64(calls)/n, "api-calls/run")
			b.ReportMetric(float64(throttled)/n, "throttles-retried/run")
			b.ReportMetric(float64(peakKB)/1024, "MB-peak-rss/shard")
		})
	}
}

// checkShardedRun makes sure the shards together delivered every resource once, so a
// broken setup cannot pass as fast.
func checkShardedRun(b *testing.B, outs []*bytes.Buffer, dsn string, stacks, instances int) {
	b.Helper()
	for s, out := range outs {
		var manifest map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "run manifest" {
				manifest = rec["manifest"].(map[string]any)
			}
		}
		if manifest == nil || manifest["status"] != "ok" {
			b.Fatalf("shard %d: manifest %v", s+1, manifest)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var gotStacks, gotInstances int
	if err := conn.QueryRow(ctx, "select (select count(distinct (account_id, region, name)) from stacks), (select count(*) from instances)").Scan(&gotStacks, &gotInstances); err != nil {
		b.Fatal(err)
	}
	var total int
	if err := conn.QueryRow(ctx, "select count(*) from stacks").Scan(&total); err != nil {
		b.Fatal(err)
	}
	if gotStacks != stacks || total != stacks || gotInstances != instances {
		b.Fatalf("postgres holds %d stacks (%d distinct) and %d instances, want %d and %d", total, gotStacks, gotInstances, stacks, instances)
	}
}
