// Package runner executes the queries of a spout.yaml once and ships each result to its
// sinks: the body of `spout run`.
//
// A run validates the whole configuration first (every sink builds, every query plans;
// no API call, nothing written), discovers the organization's accounts when configured,
// then runs the selected queries concurrently, each under its timeout, streaming every
// result through its sinks' writers and committing only complete results. A query that
// fails does not stop the others; an account that cannot be reached is reported per
// connection while the other accounts' rows are delivered. The run logs one event per
// query start and end, a heartbeat while queries run, and finally the Manifest.
//
// Subpackages: config reads spout.yaml, discovery turns an organization into
// connections.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/runner/discovery"
	"github.com/spoutdev/spout/sink"

	// The destinations a spout.yaml can name.
	_ "github.com/spoutdev/spout/sink/file"
	_ "github.com/spoutdev/spout/sink/postgres"
	_ "github.com/spoutdev/spout/sink/s3"
	_ "github.com/spoutdev/spout/sink/webhook"
)

// Options are the parts of a run that do not come from spout.yaml.
type Options struct {
	// Plugins are the plugins connections may use, by name ("aws": aws.Plugin).
	Plugins map[string]query.PluginFunc
	// Logger receives the run's events, the plugins' logs, the sinks' retries and the
	// manifest. nil discards them.
	Logger *slog.Logger
	// Stdout is where file sinks with path "-" write results, shared with whatever
	// else writes to standard output (the log, when it goes there) so that neither
	// splits the other's lines. nil means os.Stdout, unshared.
	Stdout *sink.SharedWriter
	// Queries and Schedule select the queries to run (see config.Config.Select).
	Queries  []string
	Schedule string
	// StateScope is added to the state key of every diffed query (see state.Key), so
	// that runs over different parts of the accounts (shards) keep separate snapshots.
	// Empty: "shard-<i>-of-<n>" in a sharded run (so a new shard count starts new
	// snapshots, each run as its first), nothing otherwise.
	StateScope string
	// StopGrace bounds the clean-up once the run's context ends (SIGTERM): aborting the
	// open results and logging the manifest. Default DefaultStopGrace; ECS kills the task
	// when its stopTimeout (30s by default) has passed since SIGTERM.
	StopGrace time.Duration
	// Metrics, when set, receives the run's metrics just before the manifest is logged.
	Metrics *MetricsOptions
	// Shard makes the run one part of a sharded run (see ParseShard): it queries only
	// the accounts and connections this shard owns and runs only its share of the
	// queries, and its results carry the shard (sink.ResultInfo.Shard). Zero: the whole
	// run.
	Shard sink.Shard
}

// MetricsOptions send a run's metrics as CloudWatch Embedded Metric Format lines (see
// WriteMetrics).
type MetricsOptions struct {
	// Out receives the lines; on ECS it is standard output, which awslogs ships.
	Out io.Writer
	// Namespace is the CloudWatch namespace, e.g. "Spout".
	Namespace string
}

// DefaultStopGrace is the clean-up time of an interrupted run when Options leaves it 0.
const DefaultStopGrace = 10 * time.Second

// Run executes cfg once and returns its manifest, which it has also logged. The
// manifest's ExitCode is what `spout run` exits with.
func Run(ctx context.Context, cfg *config.Config, o Options) *Manifest {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &run{
		cfg:     cfg,
		o:       o,
		log:     o.Logger,
		failed:  map[string]string{},
		running: map[string]*queryProgress{},
		m: &Manifest{
			RunID:     newRunID(time.Now()),
			Config:    cfg.File,
			Schedule:  o.Schedule,
			Shard:     o.Shard.String(),
			StartedAt: time.Now().UTC(),
			Queries:   []QueryResult{},
		},
	}
	if r.o.StopGrace <= 0 {
		r.o.StopGrace = DefaultStopGrace
	}
	if r.o.StateScope == "" && r.o.Shard.Sharded() {
		// Each shard sees only its accounts' rows: a shared snapshot would make every
		// other shard's rows look removed.
		r.o.StateScope = "shard-" + r.o.Shard.Name()
	}
	r.log = r.log.With("run_id", r.m.RunID)
	r.execute(ctx)
	if r.prepared != nil {
		// The manifest goes out even when the queries could not run (discovery failed).
		if len(r.cfg.Run.ManifestSinks) > 0 && r.m.Status != StatusInvalid && ctx.Err() == nil {
			r.m.ManifestSinks = r.deliverManifest(ctx)
		}
		r.prepared.close()
	}
	return r.finish(ctx)
}

// ReportInvalid logs errs (a configuration that could not be loaded, or a bad command
// line), the metrics (when o asks for them) and the manifest of a run that did not
// start, and returns that manifest. It reads o's Logger, Schedule and Metrics.
func ReportInvalid(ctx context.Context, file string, errs error, o Options) *Manifest {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now().UTC()
	m := &Manifest{RunID: newRunID(now), Config: file, Schedule: o.Schedule, StartedAt: now, Queries: []QueryResult{}}
	logger = logger.With("run_id", m.RunID)
	invalid(logger, m, errs)
	m.FinishedAt = time.Now().UTC()
	m.summarize()
	writeMetrics(logger, o.Metrics, m)
	logManifest(ctx, logger, m)
	return m
}

// writeMetrics writes m's metrics when o asks for them. A failure is logged, not fatal:
// the results are delivered already, and the manifest still follows.
func writeMetrics(log *slog.Logger, o *MetricsOptions, m *Manifest) {
	if o == nil {
		return
	}
	if err := WriteMetrics(o.Out, o.Namespace, m); err != nil {
		log.Error("metrics not written", "error", err.Error())
	}
}

func invalid(log *slog.Logger, m *Manifest, err error) {
	m.Status, m.ExitCode = StatusInvalid, ExitInvalid
	var errs config.Errors
	if !errors.As(err, &errs) {
		log.Error("invalid configuration", "error", err.Error())
		m.Errors = append(m.Errors, err.Error())
		return
	}
	for _, e := range errs {
		log.Error("invalid configuration", "file", e.File, "line", e.Line, "column", e.Column, "error", e.Msg)
		m.Errors = append(m.Errors, e.Error())
	}
}

type run struct {
	cfg *config.Config
	o   Options
	log *slog.Logger
	m   *Manifest

	prepared *prepared         // what validation built: the sinks, and the engine without discovery
	eng      *query.Engine     // the engine the queries run on: prepared's, or one over the discovered accounts
	failed   map[string]string // discovered connections whose role could not be assumed
	members  map[string]int    // aggregator → how many connections it fans out over
	sharder  *sharder          // nil unless the run is sharded

	mu      sync.Mutex
	running map[string]*queryProgress
	done    atomic.Int64
}

// queryProgress is what the heartbeat reports about a running query.
type queryProgress struct {
	started time.Time
	rows    atomic.Int64
}

func (r *run) execute(ctx context.Context) {
	selected, err := r.cfg.Select(r.o.Queries, r.o.Schedule)
	if err == nil {
		err = checkShard(r.o.Shard)
	}
	if err != nil {
		invalid(r.log, r.m, err)
		return
	}
	names := make([]string, len(selected))
	for i, q := range selected {
		names[i] = q.Name
	}
	r.log.Info("run started", "config", r.cfg.File, "queries", names, "schedule", r.o.Schedule, "shard", r.o.Shard.String(), "concurrency", concurrency(r.cfg))

	// Validation builds the sinks and, without discovery, the engine the run uses.
	p, err := prepare(ctx, r.cfg, r.o.Plugins, []query.Option{query.WithLogger(r.log)}, sink.Env{Logger: r.log, Stdout: r.o.Stdout}, true)
	r.prepared = p
	if err != nil {
		invalid(r.log, r.m, err)
		return
	}
	r.eng = p.eng
	r.members = memberCounts(staticConnections(r.cfg))
	if r.o.Shard.Sharded() {
		if selected, err = r.startShard(ctx, selected); err != nil {
			invalid(r.log, r.m, err)
			return
		}
	}

	if r.cfg.Organization != nil {
		res, err := r.discover(ctx)
		if err != nil {
			r.m.Errors = append(r.m.Errors, err.Error())
			r.log.Error("organization discovery failed", "error", err.Error())
			r.notRun(selected, "not run: "+err.Error())
			return
		}
		defer res.Close()
		ready := res.Ready()
		// A shard may own none of the accounts; its queries then deliver empty results.
		noneHere := r.sharder != nil && len(res.Accounts) == 0 && len(res.Unselected) > 0
		if len(ready) == 0 && !noneHere {
			msg := "not run: no account of the organization can be queried (see accounts)"
			r.m.Errors = append(r.m.Errors, "organization discovery found no account whose role can be assumed")
			r.notRun(selected, msg)
			return
		}
		if err := res.Activate(); err != nil {
			r.m.Errors = append(r.m.Errors, err.Error())
			r.notRun(selected, "not run: "+err.Error())
			return
		}
		conns := append(accountConnections(ready), staticConnections(r.cfg)...)
		if r.sharder != nil {
			conns = r.sharder.connections(conns)
		}
		r.members = memberCounts(conns)
		eng, err := newEngine(ctx, r.cfg, r.o.Plugins, conns, []query.Option{query.WithLogger(r.log)})
		if err != nil {
			r.m.Errors = append(r.m.Errors, "starting the query engine: "+err.Error())
			r.log.Error("starting the query engine failed", "error", err.Error())
			r.notRun(selected, "not run: the query engine did not start")
			return
		}
		defer eng.Close()
		r.eng = eng
	}

	stop := r.heartbeat(ctx, len(selected))
	r.m.Queries = r.runQueries(ctx, selected)
	stop()
	if err := ctx.Err(); err != nil {
		r.m.Errors = append(r.m.Errors, "run cancelled: "+context.Cause(ctx).Error())
	}
}

func (r *run) discover(ctx context.Context) (*discovery.Result, error) {
	o := discoveryOptions(r.cfg.Organization, r.log)
	o.Select = r.selectAccount()
	res, err := discovery.Discover(ctx, o)
	if err != nil {
		return nil, err
	}
	acc := &AccountsResult{Ready: []string{}, Failed: map[string]string{}, Skipped: map[string]string{}}
	for _, a := range res.Ready() {
		acc.Ready = append(acc.Ready, a.Connection)
	}
	for _, a := range res.Failed() {
		acc.Failed[a.Connection] = a.Err.Error()
		r.failed[a.Connection] = a.Err.Error()
	}
	for _, s := range res.Skipped {
		acc.Skipped[s.ID] = s.Reason
	}
	acc.OtherShards = len(res.Unselected)
	r.m.Accounts = acc
	r.log.Info("organization discovered", "ready", len(acc.Ready), "failed", len(acc.Failed), "skipped", len(acc.Skipped))
	return res, nil
}

func discoveryOptions(o *config.Organization, log *slog.Logger) discovery.Options {
	return discovery.Options{
		RoleName:          o.RoleName,
		SessionName:       o.SessionName,
		ExternalID:        o.ExternalID,
		CredentialSource:  o.CredentialSource,
		Regions:           o.Regions,
		Exclude:           o.Exclude,
		IncludeManagement: o.IncludeManagement,
		Config:            o.Config,
		EndpointURL:       o.EndpointURL,
		ConnectionPrefix:  config.AccountConnectionPrefix,
		Logger:            log,
	}
}

func (r *run) notRun(selected []*config.Query, msg string) {
	for _, q := range selected {
		r.m.Queries = append(r.m.Queries, QueryResult{Name: q.Name, Status: StatusFailed, Error: msg, Sinks: notDelivered(q.Sinks)})
	}
}

// concurrency is how many queries run at once: run.concurrency, default CPUs × 2.
func concurrency(cfg *config.Config) int {
	if n := cfg.Run.Concurrency; n > 0 {
		return n
	}
	return runtime.NumCPU() * 2
}

// runQueries runs the queries concurrently under the configured limit and returns their
// results in selection order.
func (r *run) runQueries(ctx context.Context, queries []*config.Query) []QueryResult {
	results := make([]QueryResult, len(queries))
	var g errgroup.Group
	g.SetLimit(concurrency(r.cfg))
	for i, q := range queries {
		// Go waits for a free slot; a run cancelled meanwhile starts nothing more.
		g.Go(func() error {
			if ctx.Err() != nil {
				results[i] = QueryResult{Name: q.Name, Status: StatusInterrupted, Error: "not run: interrupted: " + context.Cause(ctx).Error(), Sinks: notDelivered(q.Sinks)}
				return nil
			}
			results[i] = r.runQuery(ctx, q)
			r.done.Add(1)
			return nil
		})
	}
	g.Wait()
	return results
}

// batchRows is how many rows go to a sink's Write at a time; the sink's own batch policy
// regroups them.
const batchRows = 500

// runQuery runs one query and delivers its result to each of its sinks.
func (r *run) runQuery(ctx context.Context, q *config.Query) (res QueryResult) {
	start := time.Now()
	res = QueryResult{Name: q.Name, startedAt: start.UTC(), Sinks: []SinkResult{}}
	log := r.log.With("query", q.Name)
	timeout := q.Timeout.D()
	if timeout == 0 {
		timeout = r.cfg.Run.Timeout.D()
	}
	if timeout == 0 {
		timeout = config.DefaultTimeout
	}
	log.Info("query started", "sinks", q.Sinks, "timeout", timeout.String())
	prog := &queryProgress{started: start}
	r.mu.Lock()
	r.running[q.Name] = prog
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, q.Name)
		r.mu.Unlock()
		res.DurationMS = time.Since(start).Milliseconds()
		r.logQuery(log, res)
	}()

	fail := func(err error) QueryResult {
		res.Status, res.Error = StatusFailed, err.Error()
		if ctx.Err() != nil {
			res.Status, res.Error = StatusInterrupted, "interrupted: "+context.Cause(ctx).Error()
		}
		if len(res.Sinks) == 0 {
			// Failed before the sinks were opened; once opened, abort has said what each got.
			res.Sinks = notDelivered(q.Sinks)
		}
		return res
	}
	for _, conn := range accountRef.FindAllString(q.Text, -1) {
		if msg, ok := r.failed[conn]; ok {
			return fail(fmt.Errorf("connection %s is not available: %s", conn, msg))
		}
	}

	qctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("query %s timed out after %s", q.Name, timeout))
	defer cancel()
	qopts := []query.QueryOption{query.AllowPartial()}
	if r.cfg.Run.QueryCacheMB > 0 {
		qopts = append(qopts, query.UseCache())
	}
	if cols, ok := r.shardEmpty(q); ok {
		// This shard owns none of the accounts the query fans out over: its part of the
		// result is empty, and delivered as such so that what it replaces goes. A diffed
		// query diffs it too: the rows the shard reported before are removed.
		info := sink.ResultInfo{Query: q.Name, RunID: r.m.RunID, CollectedAt: start.UTC(), Columns: cols, Shard: r.o.Shard}
		var d fanout
		if q.Diffed() {
			df := r.startDiff(ctx, q, info, log)
			defer func() { res.Diff = df.result(); df.close() }()
			d = df
		} else {
			d = r.openSinks(ctx, q.Sinks, info, log)
		}
		d.commit(ctx)
		res.Sinks, res.Status = d.outcome(), StatusOK
		return res
	}
	rows, err := r.eng.Query(qctx, q.Text, qopts...)
	if err != nil {
		return fail(queryErr(qctx, err))
	}
	defer rows.Close()

	cols := sinkColumns(rows.Columns())
	info := sink.ResultInfo{Query: q.Name, RunID: r.m.RunID, CollectedAt: start.UTC(), Columns: cols, Connection: scanConnections(rows.Stats()), Shard: r.o.Shard}
	var d fanout
	if q.Diffed() {
		df := r.startDiff(ctx, q, info, log)
		defer func() { res.Diff = df.result(); df.close() }()
		d = df
	} else {
		d = r.openSinks(ctx, q.Sinks, info, log)
	}
	batch := make([]sink.Row, 0, batchRows)
	var convErr error
	for rows.Next() {
		vals, _ := rows.Values()
		row, err := sinkRow(cols, vals)
		if err != nil {
			convErr = err
			break
		}
		batch = append(batch, row)
		res.Rows++
		prog.rows.Add(1)
		if len(batch) == batchRows {
			d.write(ctx, batch)
			// A writer may keep a batch until Commit: never reuse it.
			batch = make([]sink.Row, 0, batchRows)
		}
	}
	err = rows.Err()
	if err == nil {
		err = convErr
	}
	if err == nil && len(batch) > 0 {
		// Written now, so that a differ can refuse the last batch too (a repeated key).
		d.write(ctx, batch)
		batch = nil
	}
	if err == nil {
		err = d.failure()
	}
	rows.Close()
	stats := rows.Stats()
	if err == nil {
		err = r.wholeScanFailed(stats)
	}
	res.Connections = r.connectionResults(stats)
	if err == nil && ctx.Err() != nil {
		// Stopped from outside after the last row: a result is committed only by a run
		// that is still wanted.
		err = context.Cause(ctx)
	}
	if err != nil {
		actx, cancel := r.cleanupContext(ctx)
		d.abort(actx)
		cancel()
		res.Sinks = d.outcome()
		return fail(queryErr(qctx, err))
	}
	res.Status = StatusOK
	for _, c := range res.Connections {
		if c.Error != "" {
			res.Status = StatusPartial
		}
	}
	if df, ok := d.(*differ); ok {
		df.partial = res.Status == StatusPartial
	}
	d.commit(ctx)
	res.Sinks = d.outcome()
	return res
}

// fanout is how a result reaches its sinks: a delivery, or a differ in front of two.
type fanout interface {
	write(ctx context.Context, rows []sink.Row)
	commit(ctx context.Context)
	abort(ctx context.Context)
	// failure is why the result must not be committed, found while writing it.
	failure() error
	outcome() []SinkResult
}

// wholeScanFailed returns an error when some table could not be read at all: its one
// connection failed, or every member of its aggregator did. Such a result would be empty
// or wrong, not partial, and must not replace what a sink holds. (The query runs with
// AllowPartial, so the engine reports these failures instead of failing the query.)
func (r *run) wholeScanFailed(stats []query.ScanStats) error {
	for _, s := range stats {
		if len(s.Errors) == 0 {
			continue
		}
		n := r.members[s.Connection]
		if n > 0 && len(s.Errors) < n {
			continue
		}
		conns := slices.Sorted(maps.Keys(s.Errors))
		if n == 0 {
			return s.Errors[conns[0]]
		}
		return fmt.Errorf("every connection of %s failed to scan %s; %s: %w", s.Connection, s.Table, conns[0], s.Errors[conns[0]])
	}
	return nil
}

// queryErr says why a query failed, naming a timeout as such.
func queryErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return context.Cause(ctx)
	}
	return err
}

// notDelivered gives each sink in names the outcome of a result that was never opened.
func notDelivered(names []string) []SinkResult {
	out := make([]SinkResult, len(names))
	for i, n := range names {
		out[i] = SinkResult{Name: n, Status: NotDelivered}
	}
	return out
}

// scanConnections names the connections (or aggregators) a result came from.
func scanConnections(stats []query.ScanStats) string {
	var names []string
	for _, s := range stats {
		if !slices.Contains(names, s.Connection) {
			names = append(names, s.Connection)
		}
	}
	return strings.Join(names, ",")
}

// connectionResults sums the scans' rows and errors by concrete connection, adding the
// discovered accounts an aggregator scan could not include.
func (r *run) connectionResults(stats []query.ScanStats) map[string]ConnectionResult {
	out := map[string]ConnectionResult{}
	for _, s := range stats {
		for conn, n := range s.Rows {
			c := out[conn]
			c.RowsFetched += n
			out[conn] = c
		}
		for conn, err := range s.Errors {
			c := out[conn]
			if c.Error == "" {
				c.Error = err.Error()
			}
			out[conn] = c
		}
		if s.Connection == config.AggregatorName && r.cfg.Organization != nil {
			for conn, msg := range r.failed {
				c := out[conn]
				c.Error = msg
				out[conn] = c
			}
		}
	}
	return out
}

func (r *run) logQuery(log *slog.Logger, res QueryResult) {
	attrs := []any{"status", res.Status, "rows", res.Rows, "duration_ms", res.DurationMS}
	rowsBy := map[string]int64{}
	errs := map[string]string{}
	for conn, c := range res.Connections {
		rowsBy[conn] = c.RowsFetched
		if c.Error != "" {
			errs[conn] = c.Error
		}
	}
	attrs = append(attrs, "connections", rowsBy)
	if len(errs) > 0 {
		attrs = append(attrs, "connection_errors", errs)
	}
	sinks := map[string]string{}
	for _, s := range res.Sinks {
		sinks[s.Name] = s.Status
	}
	attrs = append(attrs, "sinks", sinks)
	if res.Diff != nil {
		attrs = append(attrs, "diff", res.Diff)
	}
	switch res.Status {
	case StatusOK:
		log.Info("query finished", attrs...)
	case StatusPartial:
		log.Warn("query finished without some connections", attrs...)
	default:
		log.Error("query failed", append(attrs, "error", res.Error)...)
	}
}

func (r *run) deliverManifest(ctx context.Context) []SinkResult {
	info := sink.ResultInfo{Query: ManifestQuery, RunID: r.m.RunID, CollectedAt: r.m.StartedAt, Columns: manifestColumns, Shard: r.o.Shard}
	d := r.openSinks(ctx, r.cfg.Run.ManifestSinks, info, r.log.With("query", ManifestQuery))
	d.write(ctx, r.m.rows())
	d.commit(ctx)
	return d.results
}

func (r *run) finish(ctx context.Context) *Manifest {
	m := r.m
	m.FinishedAt = time.Now().UTC()
	m.DurationMS = m.FinishedAt.Sub(m.StartedAt).Milliseconds()
	m.summarize()
	switch {
	case m.Status == StatusInvalid:
	case ctx.Err() != nil:
		m.Status, m.ExitCode = StatusInterrupted, ExitInterrupted
	case m.ok():
		m.Status, m.ExitCode = StatusOK, ExitOK
	default:
		m.Status, m.ExitCode = StatusFailed, ExitFailed
	}
	// The run's context may have ended; the record of the run is written all the same.
	writeMetrics(r.log, r.o.Metrics, m)
	logManifest(context.WithoutCancel(ctx), r.log, m)
	return m
}

// cleanupContext is for what must still happen when ctx has ended: aborting open
// results. It outlives ctx by at most the stop grace.
func (r *run) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.o.StopGrace)
}

// logManifest logs the manifest whatever the log level: it is the record of the run.
func logManifest(ctx context.Context, log *slog.Logger, m *Manifest) {
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "run manifest", 0)
	rec.AddAttrs(slog.Any("manifest", m))
	_ = log.Handler().Handle(ctx, rec)
}

func newRunID(t time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
