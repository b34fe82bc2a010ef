// Package sink delivers query results to destinations.
//
// A Sink is one configured destination (a table, a bucket prefix, a webhook). Each query
// result gets its own Writer: Open → Write (bounded batches, repeated) → Commit or Abort.
// Commit is the only moment a result becomes visible; a result that is aborted, or whose
// process dies before Commit, leaves nothing half-written.
//
// Destinations live in their own packages (sink/postgres, sink/s3, sink/webhook,
// sink/file) and only know how to deliver one result. Batching, retry, a per-sink timeout
// and a dead-letter destination are wrappers written once here (see Wrap) and applied to
// every sink built from configuration (see Build).
//
// In spout.yaml every sink takes, besides its own options:
//
//	sinks:
//	  dashboard:
//	    type: postgres               # which destination package builds it
//	    batch: {rows: 1000, bytes: 4MiB}
//	    retry: {attempts: 5, backoff: 500ms, max_backoff: 30s}
//	    timeout: 10m                 # per result, retries included; default none
//	    dead_letter: /var/spool/spout   # or file:///dir, or s3://bucket/prefix/
//
// The destination packages register their types when imported, as database/sql
// drivers do; the values above are the defaults.
package sink

import (
	"context"
	"time"
)

// Column types, as the query engine reports them.
const (
	TypeText        = "text"
	TypeJSONB       = "jsonb"
	TypeTimestamptz = "timestamptz"
	TypeBigint      = "bigint"
	TypeDouble      = "double"
	TypeBoolean     = "boolean"
)

// Column describes one column of a result.
type Column struct {
	Name string
	Type string // one of the Type constants
}

// ResultInfo describes one query result.
type ResultInfo struct {
	Query       string    // query name from config
	RunID       string    // the run that produced the result
	CollectedAt time.Time // when the query ran
	Columns     []Column
	Connection  string // source connection or aggregator name
	// Shard is the part of a sharded run the result covers; zero when the run is not
	// sharded. A sharded result holds only the shard's accounts.
	Shard Shard
}

// Row is one result row, one value per column. Values are nil, string, int64, float64,
// bool, time.Time or json.RawMessage (jsonb columns).
type Row = []any

// Sink is one configured destination. It is safe for concurrent use: each result gets
// its own Writer.
type Sink interface {
	// Name is the sink's name from configuration.
	Name() string
	// Open starts delivering one result. ctx bounds the open only, not the Writer.
	Open(ctx context.Context, info ResultInfo) (Writer, error)
	// Close releases the sink's resources (connection pools). Writers must be finished.
	Close() error
}

// Writer delivers one result: Write bounded batches, then Commit (the only moment the
// result becomes visible) or Abort. A Writer is used by one goroutine at a time.
//
// Ownership: Write may keep the rows (and their values) until Commit or Abort returns,
// so callers must not modify a batch after passing it to Write. After Commit or Abort
// returns, the Writer holds no resources.
//
// Abort may be called after a failed Write or Commit, and is always safe to call.
type Writer interface {
	Write(ctx context.Context, rows []Row) error
	Commit(ctx context.Context) error
	Abort(ctx context.Context) error
}

// BatchRetrier is implemented by writers whose Write and Commit can simply be called
// again after a failure: a failed call leaves the writer's state unchanged and a repeated
// delivery carries the same idempotency key (the webhook). Retry retries such writers
// call by call instead of replaying the whole result into a fresh Writer.
type BatchRetrier interface {
	Writer
	RetriesBatches() bool
}
