package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/sink"
)

func TestParseShard(t *testing.T) {
	for spec, want := range map[string]sink.Shard{
		"":     {},
		"1/1":  {Index: 1, Count: 1},
		"2/4":  {Index: 2, Count: 4},
		" 4/4": {Index: 4, Count: 4},
	} {
		if got, err := runner.ParseShard(spec); err != nil || got != want {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for spec, want := range map[string]string{
		"3/2":    "shard 3/2: the shard index must be between 1 and the count, 2 (shards are counted from 1)",
		"0/0":    "shard 0/0: the shard count must be between 1 and 1000",
		"0/4":    "shard 0/4: the shard index must be between 1 and the count, 4 (shards are counted from 1)",
		"1/4000": "shard 1/4000: the shard count must be between 1 and 1000",
		"2":      `shard "2": want I/N, e.g. 2/4 for the second of four shards`,
		"a/b":    `shard "a/b": want I/N, e.g. 2/4 for the second of four shards`,
		"1/2/3":  `shard "1/2/3": want I/N, e.g. 2/4 for the second of four shards`,
		"-1/2":   "shard -1/2: the shard index must be between 1 and the count, 2 (shards are counted from 1)",
	} {
		if got, err := runner.ParseShard(spec); err == nil || err.Error() != want {
			t.Errorf("ParseShard(%q) = %+v, %v; want error %q", spec, got, err, want)
		}
	}
}

// accountIDs makes n distinct 12-digit account ids, from seed on.
func accountIDs(seed, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%012d", (seed+i)*7919+104729)
	}
	return out
}

func TestShardAssignmentIsStableAndBalanced(t *testing.T) {
	ids := accountIDs(0, 2000)
	const n = 4
	before := map[string]int{}
	count := make([]int, n+1)
	for _, id := range ids {
		s := runner.ShardOf(id, n)
		if s < 1 || s > n {
			t.Fatalf("ShardOf(%s, %d) = %d", id, n, s)
		}
		before[id] = s
		count[s]++
	}
	// Balanced: each shard within 20% of its fair share of 2000 accounts.
	for s := 1; s <= n; s++ {
		if c := count[s]; c < 400 || c > 600 {
			t.Errorf("shard %d/%d owns %d of %d accounts", s, n, c, len(ids))
		}
	}

	// Accounts joining and leaving the organization move no one else.
	org := append(slices.Clone(ids[500:]), accountIDs(5000, 300)...)
	for _, id := range org {
		if old, ok := before[id]; ok && runner.ShardOf(id, n) != old {
			t.Errorf("account %s moved from shard %d after others joined and left", id, old)
		}
	}

	// One more shard takes about a fifth of the accounts and moves no other.
	moved := 0
	for _, id := range ids {
		if s := runner.ShardOf(id, n+1); s != before[id] {
			if s != n+1 {
				t.Errorf("account %s moved from shard %d to %d, not to the new shard", id, before[id], s)
			}
			moved++
		}
	}
	if moved < 300 || moved > 500 {
		t.Errorf("a fifth shard took %d of %d accounts, want about 400", moved, len(ids))
	}
}

// shardedConfig has eight connections behind aggregator all, two behind pair, and one
// connection outside any aggregator.
func shardedConfig(dir string) string {
	var b strings.Builder
	b.WriteString("connections:\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "  acct_%02d:\n    plugin: test\n    config: |\n      rows = 5\n      account_id = \"%012d\"\n", i, i)
	}
	b.WriteString(`  solo:
    plugin: test
    config: |
      rows = 3
      account_id = "999999999999"
  all:
    plugin: test
    type: aggregator
    connections: ["acct_*"]
  pair:
    plugin: test
    type: aggregator
    connections: [acct_01, acct_02]
sinks:
  files:
    type: file
    path: "` + dir + `/{{.Query}}{{with .Shard}}.{{.}}{{end}}.jsonl"
queries:
  - name: fanout
    sinks: [files]
    sql: select account_id, id, name from test_types
  - name: per_account
    sinks: [files]
    sql: select account_id, count(*) as n from test_types group by account_id
  - name: pair_only
    sinks: [files]
    sql: select account_id, id from pair.test_types
  - name: pinned
    sinks: [files]
    sql: select id, account_id from solo.test_types
  - name: constant
    sinks: [files]
    sql: select 42 as answer
  - name: mixed
    sinks: [files]
    sql: select a.account_id, a.id, s.account_id as solo from test_types a join solo.test_types s on a.id = s.id
  - name: two_static
    sinks: [files]
    sql: select a.id, b.account_id from acct_01.test_types a join acct_05.test_types b on a.id = b.id
`)
	return b.String()
}

// lines reads the result files of query under dir, of every shard, as sorted lines.
func lines(t *testing.T, dir, query string) (out []string, files int) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, query+".*jsonl"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			out = append(out, strings.Split(s, "\n")...)
		}
	}
	slices.Sort(out)
	return out, len(paths)
}

func TestThreeShardsOfStaticConnectionsDeliverOneRun(t *testing.T) {
	whole := t.TempDir()
	m, _ := runLog(t, parse(t, whole, shardedConfig(whole), nil), runner.Options{})
	if m.ExitCode != 0 || m.Shard != "" {
		t.Fatalf("unsharded run: exit %d, shard %q: %+v", m.ExitCode, m.Shard, m)
	}

	parts := t.TempDir()
	const n = 3
	manifests := make([]*runner.Manifest, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := parse(t, t.TempDir(), shardedConfig(parts), nil)
			manifests[i], _ = runLog(t, cfg, runner.Options{Shard: sink.Shard{Index: i + 1, Count: n}})
		}()
	}
	wg.Wait()

	ran := map[string]int{}
	for i, m := range manifests {
		if m.ExitCode != 0 || m.Shard != fmt.Sprintf("%d/%d", i+1, n) {
			t.Fatalf("shard %d: exit %d, shard %q: %+v", i+1, m.ExitCode, m.Shard, m)
		}
		for _, q := range m.Queries {
			ran[q.Name]++
			if q.Name == "two_static" {
				continue // reads its two connections wherever it runs
			}
			for conn := range q.Connections {
				if strings.HasPrefix(conn, "acct_") && runner.ShardOf(conn, n) != i+1 {
					t.Errorf("shard %d: query %s scanned %s, which shard %d owns", i+1, q.Name, conn, runner.ShardOf(conn, n))
				}
			}
		}
		var names []string
		for _, q := range m.Queries {
			names = append(names, fmt.Sprintf("%s(%d rows)", q.Name, q.Rows))
		}
		t.Logf("shard %s ran %v, left %v", m.Shard, names, m.OtherShards)
		if len(m.Queries)+len(m.OtherShards) != 7 {
			t.Errorf("shard %d ran %d queries and left %v to others, want 7 in all", i+1, len(m.Queries), m.OtherShards)
		}
	}
	for q, want := range map[string]int{"fanout": n, "per_account": n, "pair_only": n, "mixed": n, "pinned": 1, "constant": 1, "two_static": 1} {
		if ran[q] != want {
			t.Errorf("query %s ran on %d shards, want %d", q, ran[q], want)
		}
		got, files := lines(t, parts, q)
		wantLines, _ := lines(t, whole, q)
		if len(wantLines) == 0 {
			t.Fatalf("unsharded query %s delivered nothing", q)
		}
		if !slices.Equal(got, wantLines) {
			t.Errorf("query %s: the shards delivered\n%s\nwant the unsharded run's\n%s", q, strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
		}
		if files != want {
			t.Errorf("query %s: %d result files, want %d", q, files, want)
		}
	}
	// pair has two members, so at least one of the three shards owns neither: its
	// part is an empty result, delivered all the same.
	empty := 0
	for i := 1; i <= n; i++ {
		b, err := os.ReadFile(filepath.Join(parts, fmt.Sprintf("pair_only.%d-of-%d.jsonl", i, n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			empty++
		}
	}
	if empty == 0 {
		t.Error("no shard delivered an empty pair_only result")
	}
}
