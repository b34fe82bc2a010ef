package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/sink"
)

// shardAccounts is a management account and n members.
func shardAccounts(n int) []string {
	ids := []string{mgmtAccount}
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("5%011d", i*7717))
	}
	return ids
}

// shardConfig is a run over every member account of the organization: results to a
// replaced table, an appended history table and S3 under prefix; one query names one
// account's connection.
func shardConfig(prefix, oneAccount string) string {
	return `
organization:
  role_name: SpoutQueryRole
  regions: [us-east-1, eu-west-1]
  credential_source: Environment
  endpoint_url: ${E2E_ENDPOINT}/_account/{{.AccountID}}

sinks:
  latest:
    type: postgres
    dsn_env: E2E_SHARD_PG
    mode: replace
  history:
    type: postgres
    dsn_env: E2E_SHARD_PG
    table: "{{.Query}}_history"
  lake:
    type: s3
    bucket: spout-shards
    prefix: ` + prefix + `
    endpoint: ${E2E_ENDPOINT}
    path_style: true
    gzip: true

queries:
  - name: instances
    sinks: [latest, history, lake]
    sql: select account_id, region, instance_id, instance_type, instance_state from aws_ec2_instance
  - name: stacks_per_account
    sinks: [latest]
    sql: select account_id, region, count(*) as n from aws_cloudformation_stack group by 1, 2
  - name: one_account
    sinks: [latest, history]
    sql: select instance_id, region from aws_` + oneAccount + `.aws_ec2_instance

run:
  manifest_sinks: [history]
`
}

// tableRows returns a table's rows without the columns the sink adds, as sorted JSON.
func tableRows(t *testing.T, dsn, table, where string) []string {
	t.Helper()
	return pgStrings(t, dsn, "select (to_jsonb(t) - '_spout_run_id' - '_spout_collected_at' - '_spout_shard')::text from "+table+" t "+where)
}

func objectRows(objects map[string][]map[string]any, keys ...string) []string {
	var out []string
	for _, k := range keys {
		for _, r := range objects[k] {
			out = append(out, fmt.Sprint(r["account_id"], "/", r["region"], "/", r["instance_id"]))
		}
	}
	slices.Sort(out)
	return out
}

// The acceptance test of sharding: three shards of an organization's run, one after the
// other against one PostgreSQL database and one bucket, deliver exactly what one
// unsharded run delivers — with replace (even over an unsharded run's rows and run
// after run), append and S3.
func TestThreeShardsOfAnOrganizationDeliverOneRun(t *testing.T) {
	accounts := shardAccounts(9)
	srv := startFake(t, fakeaws.Options{Seed: 12, Accounts: accounts, Regions: []string{"us-east-1", "eu-west-1"}, Stacks: 200, Instances: 120})
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	t.Setenv("E2E_ENDPOINT", srv.URL())
	if _, err := fakeS3(srv).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awsv2.String("spout-shards")}); err != nil {
		t.Fatal(err)
	}
	oneAccount := accounts[4]
	const n = 3

	wholeDSN := pgtest.DSN(t)
	t.Setenv("E2E_SHARD_PG", wholeDSN)
	whole, _ := runConfig(t, shardConfig("whole/", oneAccount), runner.Options{})
	if whole.ExitCode != 0 || len(whole.Accounts.Ready) != 9 {
		t.Fatalf("unsharded run: exit %d, accounts %+v, errors %v", whole.ExitCode, whole.Accounts, whole.Errors)
	}

	dsn := pgtest.DSN(t)
	t.Setenv("E2E_SHARD_PG", dsn)
	// The table starts with an unsharded run's rows, as when a deployment goes sharded.
	if m, _ := runConfig(t, shardConfig("before/", oneAccount), runner.Options{}); m.ExitCode != 0 {
		t.Fatalf("unsharded run before sharding: exit %d", m.ExitCode)
	}
	rounds := make([][]*runner.Manifest, 2)
	for round := range rounds {
		for i := 1; i <= n; i++ {
			m, _ := runConfig(t, shardConfig("sharded/", oneAccount), runner.Options{Shard: sink.Shard{Index: i, Count: n}})
			if m.ExitCode != 0 || m.Shard != fmt.Sprintf("%d/%d", i, n) {
				t.Fatalf("round %d, shard %d: exit %d, shard %q, errors %v, queries %+v", round+1, i, m.ExitCode, m.Shard, m.Errors, m.Queries)
			}
			rounds[round] = append(rounds[round], m)
		}
	}

	// The accounts: each member in exactly one shard, by its id's hash, every round.
	seen := map[string]int{}
	ranOne := 0
	for round, ms := range rounds {
		for i, m := range ms {
			for _, c := range m.Accounts.Ready {
				id := strings.TrimPrefix(c, "aws_")
				seen[id]++
				if runner.ShardOf(id, n) != i+1 {
					t.Errorf("round %d: shard %d queried %s, which hashes to shard %d", round+1, i+1, id, runner.ShardOf(id, n))
				}
			}
			if m.Accounts.OtherShards != 9-len(m.Accounts.Ready) {
				t.Errorf("shard %d: %d accounts ready, %d left to other shards, want 9 in all", i+1, len(m.Accounts.Ready), m.Accounts.OtherShards)
			}
			for _, q := range m.Queries {
				if q.Name == "one_account" {
					ranOne++
					if runner.ShardOf(oneAccount, n) != i+1 {
						t.Errorf("one_account ran on shard %d, but %s is shard %d's", i+1, oneAccount, runner.ShardOf(oneAccount, n))
					}
				}
			}
			t.Logf("round %d shard %s: %d accounts, queries left to others %v", round+1, m.Shard, len(m.Accounts.Ready), m.OtherShards)
		}
	}
	if len(seen) != 9 || slices.ContainsFunc(slices.Collect(maps.Values(seen)), func(c int) bool { return c != 2 }) {
		t.Errorf("accounts queried per round: %v, want each of the 9 members once a round", seen)
	}
	if ranOne != 2 {
		t.Errorf("one_account ran %d times in two rounds, want once a round", ranOne)
	}

	// replace: after two rounds over an unsharded run's rows, exactly one run's rows.
	for _, table := range []string{"instances", "stacks_per_account", "one_account"} {
		want := tableRows(t, wholeDSN, table, "")
		sameList(t, "replaced table "+table, tableRows(t, dsn, table, ""), want)
		if got := pgStrings(t, dsn, "select count(*)::text from "+table+" where _spout_shard is null"); got[0] != "0" {
			t.Errorf("%s keeps %s rows of the unsharded run", table, got[0])
		}
	}

	// append: each round adds one run's rows, carried by the shard that fetched them.
	wantHistory := tableRows(t, wholeDSN, "instances_history", "")
	for round, ms := range rounds {
		var ids []string
		for _, m := range ms {
			ids = append(ids, "'"+m.RunID+"'")
		}
		where := "where _spout_run_id in (" + strings.Join(ids, ", ") + ")"
		sameList(t, fmt.Sprintf("appended round %d", round+1), tableRows(t, dsn, "instances_history", where), wantHistory)
		for i, m := range ms {
			got := pgStrings(t, dsn, "select distinct _spout_shard from instances_history where _spout_run_id = '"+m.RunID+"'")
			if len(got) > 0 && !slices.Equal(got, []string{fmt.Sprintf("%d/%d", i+1, n)}) {
				t.Errorf("round %d shard %d's rows say shard %v", round+1, i+1, got)
			}
		}
	}
	if got := pgStrings(t, dsn, "select distinct _spout_shard from spout_manifest_history where _spout_shard is not null"); !slices.Equal(got, []string{"1/3", "2/3", "3/3"}) {
		t.Errorf("delivered manifests by shard: %v, want every shard's", got)
	}

	// S3: one object per shard and run, its key naming the shard; a round's objects
	// together hold the unsharded run's rows.
	wholeObjects := s3Objects(t, srv, "spout-shards", "whole/instances/")
	want := objectRows(wholeObjects, slices.Collect(maps.Keys(wholeObjects))...)
	objects := s3Objects(t, srv, "spout-shards", "sharded/instances/")
	if len(objects) != 2*n {
		t.Fatalf("sharded objects %v, want %d", slices.Sorted(maps.Keys(objects)), 2*n)
	}
	for round, ms := range rounds {
		var keys []string
		for i, m := range ms {
			key := fmt.Sprintf("sharded/instances/dt=%s/%s-shard-%d-of-%d.jsonl.gz", m.StartedAt.Format("2006-01-02"), m.RunID, i+1, n)
			if _, ok := objects[key]; !ok {
				t.Errorf("no object %s among %v", key, slices.Sorted(maps.Keys(objects)))
			}
			keys = append(keys, key)
		}
		sameList(t, fmt.Sprintf("s3 round %d", round+1), objectRows(objects, keys...), want)
	}
}

// Accounts joining the organization take a shard of their own hash and move no other.
func TestShardsKeepTheirAccountsAsTheOrganizationGrows(t *testing.T) {
	const n = 3
	shardsOf := func(accounts []string) map[string]int {
		srv := startFake(t, fakeaws.Options{Seed: 3, Accounts: accounts, Regions: []string{"us-east-1"}, Stacks: 10, Instances: 10})
		t.Setenv("AWS_ENDPOINT_URL", srv.URL())
		t.Setenv("E2E_ENDPOINT", srv.URL())
		out := map[string]int{}
		for i := 1; i <= n; i++ {
			m, _ := runConfig(t, `
organization:
  role_name: SpoutQueryRole
  regions: [us-east-1]
  credential_source: Environment
  endpoint_url: ${E2E_ENDPOINT}/_account/{{.AccountID}}
sinks:
  out: {type: file, path: "`+t.TempDir()+`/{{.Query}}.jsonl"}
queries:
  - name: regions
    sinks: [out]
    sql: select account_id, region from aws_region where region = 'us-east-1'
`, runner.Options{Shard: sink.Shard{Index: i, Count: n}})
			if m.ExitCode != 0 {
				t.Fatalf("shard %d: exit %d, errors %v, queries %+v", i, m.ExitCode, m.Errors, m.Queries)
			}
			for _, c := range m.Accounts.Ready {
				out[strings.TrimPrefix(c, "aws_")] = i
			}
		}
		return out
	}
	small := shardAccounts(6)
	before := shardsOf(small)
	grown := append(slices.Clone(small), "600000000001", "600000000002", "600000000003")
	after := shardsOf(grown)
	if len(before) != 6 || len(after) != 9 {
		t.Fatalf("accounts by shard: before %v, after %v", before, after)
	}
	for id, s := range before {
		if after[id] != s {
			t.Errorf("account %s moved from shard %d to %d when others joined", id, s, after[id])
		}
	}
}

// A query no shard can run whole is refused before any API call.
func TestShardRefusesAQueryNoShardCanRunWhole(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 4})
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	t.Setenv("E2E_ENDPOINT", srv.URL())
	m, _ := runConfig(t, `
organization:
  role_name: SpoutQueryRole
  credential_source: Environment
  endpoint_url: ${E2E_ENDPOINT}/_account/{{.AccountID}}
sinks:
  out: {type: file, path: "`+t.TempDir()+`/{{.Query}}.jsonl"}
queries:
  - name: joined
    sinks: [out]
    sql: |
      select i.instance_id, r.name from aws_ec2_instance i
      join aws_`+memberA+`.aws_iam_role r on r.account_id = i.account_id
`, runner.Options{Shard: sink.Shard{Index: 1, Count: 2}})
	want := fmt.Sprintf("query joined: with --shard, no shard can run it whole: it reads account aws_%s (only shard %d/2 opens it), aggregator aws (split between the shards)",
		memberA, runner.ShardOf(memberA, 2))
	if m.ExitCode != runner.ExitInvalid || len(m.Errors) != 1 || !strings.HasSuffix(m.Errors[0], want) {
		t.Fatalf("exit %d, errors %q; want 2 and %q", m.ExitCode, m.Errors, want)
	}
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("a refused run made %d AWS calls", len(reqs))
	}
}
