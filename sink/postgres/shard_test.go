package postgres

import (
	"testing"

	"github.com/spoutdev/spout/sink"
)

func sharded(run string, index, count int) sink.ResultInfo {
	in := info(run, cols)
	in.Shard = sink.Shard{Index: index, Count: count}
	return in
}

func TestReplaceWithShardsReplacesOnlyTheShardsRows(t *testing.T) {
	s, conn := newTestSink(t, Config{Mode: Replace})
	// An unsharded run first: the first shard of the new layout removes its rows.
	deliver(t, s, info("run-0", cols), numbered("old", 2))
	deliver(t, s, sharded("run-1", 1, 2), numbered("one", 2))
	deliver(t, s, sharded("run-2", 2, 2), numbered("two", 1))
	equal(t, "after one round", query(t, conn, "select _spout_shard, _spout_run_id, arn from buckets order by arn"),
		"1/2 run-1 one-0", "1/2 run-1 one-1", "2/2 run-2 two-0")

	// A shard's next result replaces its own rows, and only those.
	deliver(t, s, sharded("run-3", 1, 2), numbered("uno", 1))
	equal(t, "after shard 1 again", query(t, conn, "select _spout_shard, _spout_run_id, arn from buckets order by arn"),
		"2/2 run-2 two-0", "1/2 run-3 uno-0")

	// Another shard count is another layout: its first shard drops every row of the old
	// one (they would otherwise be counted twice once the accounts move).
	deliver(t, s, sharded("run-4", 3, 3), numbered("three", 1))
	equal(t, "new layout", query(t, conn, "select _spout_shard, _spout_run_id, arn from buckets order by arn"),
		"3/3 run-4 three-0")

	// An unsharded result replaces everything.
	deliver(t, s, info("run-5", cols), numbered("all", 1))
	equal(t, "unsharded again", query(t, conn, "select coalesce(_spout_shard, 'none'), _spout_run_id, arn from buckets"),
		"none run-5 all-0")
}

func TestAppendAndUpsertCarryTheShard(t *testing.T) {
	s, conn := newTestSink(t, Config{Table: "appended"})
	deliver(t, s, info("run-0", cols), numbered("a", 1))
	deliver(t, s, sharded("run-1", 2, 4), numbered("b", 1))
	equal(t, "append", query(t, conn, "select coalesce(_spout_shard, 'none'), arn from appended order by arn"),
		"none a-0", "2/4 b-0")

	u, conn := newTestSink(t, Config{Table: "merged", Mode: Upsert, Key: []string{"arn"}})
	deliver(t, u, sharded("run-1", 1, 2), numbered("a", 2))
	deliver(t, u, sharded("run-2", 2, 2), []sink.Row{{"a-1", int64(7)}, {"c-0", int64(0)}})
	equal(t, "upsert", query(t, conn, "select _spout_shard, arn, size from merged order by arn"),
		"1/2 a-0 0", "2/2 a-1 7", "2/2 c-0 0")
}

func TestShardColumnIsReserved(t *testing.T) {
	s, _ := newTestSink(t, Config{})
	_, err := s.Open(t.Context(), info("run-1", []sink.Column{{Name: ShardColumn, Type: sink.TypeText}}))
	if err == nil || !sink.IsPermanent(err) {
		t.Fatalf("a result with a %s column: %v, want a permanent error", ShardColumn, err)
	}
}
