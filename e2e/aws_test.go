package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// The AWS plugin reads credentials and config from the environment; these keep it on the
// local endpoint and away from the host's ~/.aws.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spout-e2e")
	if err != nil {
		panic(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDSPOUTTEST",
		"AWS_SECRET_ACCESS_KEY":       "spout-test-secret",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startFake(t *testing.T, opts fakeaws.Options) *fakeaws.Server {
	t.Helper()
	srv := fakeaws.New(opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func newEngine(t *testing.T, opts ...query.Option) *query.Engine {
	t.Helper()
	eng, err := query.New(context.Background(), append([]query.Option{query.WithPlugin("aws", aws.Plugin)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func collect(t *testing.T, eng *query.Engine, sql string, opts ...query.QueryOption) [][]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rows, err := eng.Query(ctx, sql, opts...)
	if err != nil {
		t.Fatalf("query failed: %v\n%s", err, sql)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, _ := rows.Values()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query failed: %v\n%s", err, sql)
	}
	return out
}

// The tagging-policy query of the origin story, verbatim apart from the select list.
const taggingPolicy = `select name, region, account_id, tags ->> 'environment' as env
from aws_cloudformation_stack
where extract(day from current_timestamp - last_updated_time)::int < 90
  and (tags ->> 'environment' is null or tags ->> 'environment' not in ('prod', 'staging', 'dev'))`

func expectedNonCompliant(inv fakeaws.Inventory, accounts map[string]bool, now time.Time) []string {
	var want []string
	for _, s := range inv.Stacks {
		if !accounts[s.Account] || s.LastUpdated.IsZero() {
			continue
		}
		if int(now.Sub(s.LastUpdated).Hours()/24) >= 90 {
			continue
		}
		env, ok := s.Tags["environment"]
		if ok && (env == "prod" || env == "staging" || env == "dev") {
			continue
		}
		want = append(want, s.Account+"/"+s.Region+"/"+s.Name)
	}
	sort.Strings(want)
	return want
}

func stackKeys(rows [][]any) []string {
	var got []string
	for _, r := range rows {
		got = append(got, r[2].(string)+"/"+r[1].(string)+"/"+r[0].(string))
	}
	sort.Strings(got)
	return got
}

func TestTaggingPolicyReturnsSeededNonCompliantStacks(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 7})
	acct := srv.Inventory().Accounts[0].ID
	eng := newEngine(t, query.WithConnection("aws", "aws", srv.PluginConfig(acct)))
	rows := collect(t, eng, taggingPolicy)
	want := expectedNonCompliant(srv.Inventory(), map[string]bool{acct: true}, time.Now())
	got := stackKeys(rows)
	if len(want) == 0 {
		t.Fatal("the seeded inventory has no non-compliant stacks; the test proves nothing")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d stacks, want %d\ngot:  %v\nwant: %v", len(got), len(want), got, want)
	}
}

func TestRegionQualCallsOnlyThatRegion(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 3})
	acct := srv.Inventory().Accounts[0].ID
	eng := newEngine(t, query.WithConnection("aws", "aws", srv.PluginConfig(acct)))
	srv.ResetRequests()
	rows := collect(t, eng, `select name, region from aws_cloudformation_stack where region = 'eu-west-1'`)
	want := 0
	for _, s := range srv.Inventory().Stacks {
		if s.Account == acct && s.Region == "eu-west-1" {
			want++
		}
	}
	if len(rows) != want || want == 0 {
		t.Fatalf("got %d rows, want %d eu-west-1 stacks", len(rows), want)
	}
	cfn := 0
	for _, r := range srv.Requests() {
		if r.Service != "cloudformation" {
			continue
		}
		cfn++
		if r.Region != "eu-west-1" {
			t.Errorf("CloudFormation %s called in %s; the query pinned eu-west-1", r.Action, r.Region)
		}
	}
	if cfn == 0 {
		t.Fatal("no CloudFormation request reached the fake")
	}
}

func TestAggregatorOverThreeAccounts(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 5})
	inv := srv.Inventory()
	opts := []query.Option{}
	for i, a := range inv.Accounts {
		opts = append(opts, query.WithConnection(fmt.Sprintf("aws_%d", i+1), "aws", srv.PluginConfig(a.ID)))
	}
	opts = append(opts, query.WithAggregator("aws", "aws", "aws_*"))
	eng := newEngine(t, opts...)
	rows := collect(t, eng, `select account_id, count(*) from aws_cloudformation_stack group by account_id order by account_id`)
	want := map[string]int64{}
	for _, s := range inv.Stacks {
		want[s.Account]++
	}
	if len(rows) != len(inv.Accounts) {
		t.Fatalf("got rows for %d accounts, want %d: %v", len(rows), len(inv.Accounts), rows)
	}
	for _, r := range rows {
		acct, n := r[0].(string), r[1].(int64)
		if want[acct] != n {
			t.Errorf("account %s: %d stacks, want %d", acct, n, want[acct])
		}
	}
	// A qualified name reaches one member only.
	one := collect(t, eng, `select distinct account_id from aws_2.aws_cloudformation_stack`)
	if len(one) != 1 || one[0][0] != inv.Accounts[1].ID {
		t.Fatalf("aws_2 returned accounts %v, want only %s", one, inv.Accounts[1].ID)
	}
}

func TestThrottledEndpointStillYieldsCompleteResults(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 11, ThrottleRate: 0.3})
	acct := srv.Inventory().Accounts[0].ID
	eng := newEngine(t, query.WithConnection("aws", "aws", srv.PluginConfig(acct)))
	rows := collect(t, eng, taggingPolicy)
	if got, want := stackKeys(rows), expectedNonCompliant(srv.Inventory(), map[string]bool{acct: true}, time.Now()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("with throttling: got %d stacks, want %d", len(got), len(want))
	}
	throttled := 0
	for _, r := range srv.Requests() {
		if r.Throttled {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the fake throttled nothing; the test proves nothing")
	}
	t.Logf("%d requests throttled and retried by the plugin", throttled)
}
