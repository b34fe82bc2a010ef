package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
)

// distinctScansConfig asks for each distinct scan of the reference run once, with every
// column the reference run's queries use of it: the API calls a run makes when nothing
// is scanned twice. public_buckets has no query of its own: bucket_policy_is_public =
// true only filters, so the buckets scan holds its rows; running_by_type keeps its own,
// since instance_state is a key column of aws_ec2_instance.
const distinctScansConfig = `
organization:
  role_name: SpoutQueryRole
  include_management: true
  regions: [us-east-1, eu-west-1, us-west-2]
  credential_source: Environment
  endpoint_url: ${BENCH_ENDPOINT}/_account/{{.AccountID}}

sinks:
  files:
    type: file
    path: ${BENCH_OUT}/{{.Query}}.jsonl.gz
    gzip: true

queries:
  - name: stacks
    sinks: [files]
    sql: select account_id, region, name, status, creation_time, last_updated_time, tags from aws_cloudformation_stack
  - name: instances
    sinks: [files]
    sql: select account_id, region, instance_id, instance_type, instance_state, launch_time, tags from aws_ec2_instance
  - name: running_by_type
    sinks: [files]
    sql: select instance_type from aws_ec2_instance where instance_state = 'running'
  - name: security_groups
    sinks: [files]
    sql: select account_id, region, group_id, group_name, vpc_id from aws_vpc_security_group
  - name: buckets
    sinks: [files]
    sql: select account_id, region, name, creation_date, bucket_policy_is_public, tags from aws_s3_bucket
  - name: roles
    sinks: [files]
    sql: select account_id, name, arn, create_date, attached_policy_arns, tags from aws_iam_role
`

// BenchmarkReferenceRunScanCache counts the API requests of the reference run (discovery's
// Organizations and STS calls left out) without the run's scan cache (run.scan_cache:
// false), with it, and for one query per distinct scan: with the cache, the run should
// make no more requests than the distinct scans need. It also reports the manifest's
// connection scans made and served from the cache, and each run's wall time and peak RSS. One op is
// three runs; use -benchtime 1x.
func BenchmarkReferenceRunScanCache(b *testing.B) {
	bin := buildSpout(b)
	srv := fakeaws.New(fakeaws.Options{Seed: 42, Stacks: refStacks, Instances: refInstances, Buckets: refBuckets, Roles: refRoles})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	inv := srv.Inventory()
	dir := b.TempDir()
	dsn := pgtest.DSN(b)
	env := referenceEnv(srv, dsn)
	configs := []struct{ name, text string }{
		{"before", referenceConfig + "\nrun:\n  scan_cache: false\n"},
		{"after", referenceConfig},
		{"distinct", distinctScansConfig},
	}
	sums, peak := map[string]float64{}, map[string]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range configs {
			cfgPath := filepath.Join(dir, c.name+".yaml")
			if err := os.WriteFile(cfgPath, []byte(c.text), 0o644); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, fmt.Sprintf("%s%d", c.name, i))
			srv.ResetRequests()
			cmd := exec.Command(bin, "run", "-c", cfgPath)
			cmd.Env = append(env, "BENCH_OUT="+out)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatalf("spout run (%s): %v\nstderr: %s\nstdout tail: %s", c.name, err, stderr.String(), tail(stdout.String(), 3000))
			}
			sums[c.name+"-s/run"] += time.Since(start).Seconds()
			peak[c.name+"-MB-peak-rss"] = max(peak[c.name+"-MB-peak-rss"], float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)
			reqs := srv.Requests()
			byAction := map[string]int{}
			n := 0
			for _, r := range reqs {
				if r.Service == "organizations" || r.Service == "sts" && r.Action != "GetCallerIdentity" {
					continue
				}
				n++
				byAction[r.Service+":"+r.Action]++
			}
			sums[c.name+"-api-requests"] += float64(n)
			if c.name != "distinct" {
				b.StopTimer()
				checkReferenceRun(b, stdout.String(), dsn, out, len(reqs), inv)
				b.StartTimer()
				m := manifestOf(b, stdout.String())
				sums[c.name+"-api-scans"] += m["api_scans"].(float64)
				sums[c.name+"-cached-scans"] += m["cached_scans"].(float64)
			}
			if i == 0 {
				b.Logf("%s: %d plugin API requests: %v", c.name, n, byAction)
			}
		}
	}
	for name, v := range sums {
		b.ReportMetric(v/float64(b.N), name)
	}
	for name, v := range peak {
		b.ReportMetric(v, name)
	}
}

// manifestOf finds the run manifest in spout run's log.
func manifestOf(b *testing.B, stdout string) map[string]any {
	b.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.Contains(line, `"msg":"run manifest"`) {
			continue
		}
		var rec struct {
			Manifest map[string]any `json:"manifest"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			b.Fatal(err)
		}
		return rec.Manifest
	}
	b.Fatal("no run manifest in the log")
	return nil
}
