package runner

import (
	"encoding/json"
	"time"

	"github.com/spoutdev/spout/sink"
)

// Manifest is the record of one run: what ran, for how long, how many rows, what was
// delivered where and what failed. It is the last line a run logs, and optionally a
// result delivered to sinks (run.manifest_sinks).
type Manifest struct {
	RunID      string    `json:"run_id"`
	Status     string    `json:"status"` // ok, failed, interrupted or invalid
	ExitCode   int       `json:"exit_code"`
	Config     string    `json:"config"`
	Schedule   string    `json:"schedule,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`

	// Shard is the part of a sharded run this process ran, e.g. "2/4".
	Shard string `json:"shard,omitempty"`
	// OtherShards are the selected queries this shard left to another one (see
	// Options.Shard).
	OtherShards []string `json:"other_shards,omitempty"`

	// Errors are problems of the run as a whole: configuration errors (status invalid),
	// a failed account listing, a cancelled run.
	Errors   []string        `json:"errors,omitempty"`
	Accounts *AccountsResult `json:"accounts,omitempty"`
	Queries  []QueryResult   `json:"queries"`
	// APIScans and CachedScans sum the queries' (see QueryResult).
	APIScans    int `json:"api_scans"`
	CachedScans int `json:"cached_scans"`
	// Sinks sums the per-query outcomes by sink.
	Sinks         []SinkSummary `json:"sinks"`
	ManifestSinks []SinkResult  `json:"manifest_sinks,omitempty"`
}

// Run statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusInvalid = "invalid"
	// StatusInterrupted is a run stopped from outside (SIGTERM, SIGINT: its context
	// ended): every result still open was aborted, none half-written.
	StatusInterrupted = "interrupted"
	// StatusPartial is a query whose result is missing some connections' rows; what the
	// other connections returned was delivered.
	StatusPartial = "partial"
)

// Exit codes of spout run.
const (
	ExitOK      = 0 // every query ran on every connection and every result was delivered
	ExitFailed  = 1 // some query, connection or delivery failed
	ExitInvalid = 2 // the configuration or the command line is wrong; nothing ran
	// ExitInterrupted: the run was stopped (SIGTERM or SIGINT) before it finished; the
	// results it had not committed were aborted, and the next run sends them again.
	ExitInterrupted = 3
)

// AccountsResult is what organization discovery found.
type AccountsResult struct {
	Ready   []string          `json:"ready"`             // connection names
	Failed  map[string]string `json:"failed,omitempty"`  // connection → why its role could not be assumed
	Skipped map[string]string `json:"skipped,omitempty"` // account id → reason

	// OtherShards counts the accounts a sharded run left to its other shards.
	OtherShards int `json:"other_shards,omitempty"`
}

// QueryResult is one query's outcome.
type QueryResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"` // ok, partial, failed or interrupted
	Rows       int64  `json:"rows"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	// Connections are the connections the query scanned, with the rows each returned to
	// the engine (before filtering and joins) or why it failed.
	Connections map[string]ConnectionResult `json:"connections,omitempty"`
	// APIScans counts the query's connection scans (one table of one connection, or one
	// join-parameter lookup) that called the plugin; CachedScans those the run's scan
	// cache served from an identical scan of the run (run.scan_cache).
	APIScans    int          `json:"api_scans"`
	CachedScans int          `json:"cached_scans"`
	Sinks       []SinkResult `json:"sinks"`
	// Diff is what a diffed query found and whether its state advanced.
	Diff      *DiffResult `json:"diff,omitempty"`
	startedAt time.Time
}

// ConnectionResult is what one connection gave one query.
type ConnectionResult struct {
	RowsFetched int64  `json:"rows_fetched"`
	Error       string `json:"error,omitempty"`
}

// Sink delivery outcomes.
const (
	Delivered    = "delivered"     // committed: the result is visible
	DeadLettered = "dead_lettered" // delivery failed; the whole result is in the dead letter
	Failed       = "failed"        // delivery failed and nothing holds the result
	NotDelivered = "not_delivered" // the query failed, so the result was aborted or never opened
)

// SinkResult is one result's outcome at one sink.
type SinkResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Rows       int64  `json:"rows"`
	Error      string `json:"error,omitempty"`
	DeadLetter string `json:"dead_letter,omitempty"`
}

// SinkSummary counts a sink's results by outcome.
type SinkSummary struct {
	Name         string `json:"name"`
	Delivered    int    `json:"delivered"`
	DeadLettered int    `json:"dead_lettered"`
	Failed       int    `json:"failed"`
	Rows         int64  `json:"rows"` // rows delivered
}

// ok reports whether every query ran everywhere and every result was delivered.
func (m *Manifest) ok() bool {
	if len(m.Errors) > 0 {
		return false
	}
	for _, q := range m.Queries {
		if q.Status != StatusOK {
			return false
		}
		if q.Diff != nil && q.Diff.StateError != "" {
			// Delivered, but as a full snapshot, or the next run sends it again.
			return false
		}
		for _, s := range q.Sinks {
			if s.Status != Delivered {
				return false
			}
		}
	}
	for _, s := range m.ManifestSinks {
		if s.Status != Delivered {
			return false
		}
	}
	return true
}

// summarize fills Sinks from the per-query outcomes, in the order sinks first appear.
func (m *Manifest) summarize() {
	idx := map[string]int{}
	m.Sinks = []SinkSummary{}
	m.APIScans, m.CachedScans = 0, 0
	for _, q := range m.Queries {
		m.APIScans += q.APIScans
		m.CachedScans += q.CachedScans
		for _, s := range q.Sinks {
			i, ok := idx[s.Name]
			if !ok {
				i = len(m.Sinks)
				idx[s.Name] = i
				m.Sinks = append(m.Sinks, SinkSummary{Name: s.Name})
			}
			sum := &m.Sinks[i]
			switch s.Status {
			case Delivered:
				sum.Delivered++
				sum.Rows += s.Rows
			case DeadLettered:
				sum.DeadLettered++
			case Failed:
				sum.Failed++
			}
		}
	}
}

// ManifestQuery is the query name the manifest has when delivered to sinks.
const ManifestQuery = "spout_manifest"

// manifestColumns are the columns of the manifest as a result: one row per query.
var manifestColumns = []sink.Column{
	{Name: "run_id", Type: sink.TypeText},
	{Name: "query", Type: sink.TypeText},
	{Name: "status", Type: sink.TypeText},
	{Name: "rows", Type: sink.TypeBigint},
	{Name: "duration_ms", Type: sink.TypeBigint},
	{Name: "started_at", Type: sink.TypeTimestamptz},
	{Name: "error", Type: sink.TypeText},
	{Name: "connections", Type: sink.TypeJSONB},
	{Name: "sinks", Type: sink.TypeJSONB},
	{Name: "api_scans", Type: sink.TypeBigint},
	{Name: "cached_scans", Type: sink.TypeBigint},
	{Name: "diff", Type: sink.TypeJSONB},
}

func (m *Manifest) rows() []sink.Row {
	rows := make([]sink.Row, 0, len(m.Queries))
	for _, q := range m.Queries {
		conns, _ := json.Marshal(q.Connections)
		sinks, _ := json.Marshal(q.Sinks)
		var errText any
		if q.Error != "" {
			errText = q.Error
		}
		var diff any
		if q.Diff != nil {
			b, _ := json.Marshal(q.Diff)
			diff = json.RawMessage(b)
		}
		rows = append(rows, sink.Row{m.RunID, q.Name, q.Status, q.Rows, q.DurationMS, q.startedAt,
			errText, json.RawMessage(conns), json.RawMessage(sinks), int64(q.APIScans), int64(q.CachedScans), diff})
	}
	return rows
}
