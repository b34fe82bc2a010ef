package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/state"
)

// Validate checks what config.Parse cannot: every sink builds from its options (secrets
// named by dsn_env and the like must be set), every connection's plugin is registered
// and its HCL accepted, and every query plans against the plugins' schemas. No cloud API
// is called and nothing is written. The result is config.Errors, one per problem.
// Plugin logs go to logger; nil discards them.
func Validate(ctx context.Context, cfg *config.Config, plugins map[string]query.PluginFunc, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, err := prepare(ctx, cfg, plugins, []query.Option{query.WithLogger(logger)}, sink.Env{Logger: logger}, false)
	if p != nil {
		p.close()
	}
	return err
}

// Check validates cfg as far as it can and adds what it finds to loadErr, the error
// config.Load or config.Parse returned with cfg: the parts of a configuration that parsed
// cleanly are still checked, so that one pass reports every problem. It returns
// config.Errors, loadErr itself when that is not about the file's content, or nil.
func Check(ctx context.Context, cfg *config.Config, loadErr error, plugins map[string]query.PluginFunc, logger *slog.Logger) error {
	var errs config.Errors
	if loadErr != nil && (cfg == nil || !errors.As(loadErr, &errs)) {
		return loadErr
	}
	var more config.Errors
	if err := Validate(ctx, cfg, plugins, logger); err != nil && !errors.As(err, &more) {
		return err
	}
	seen := map[string]bool{}
	var all config.Errors
	for _, e := range append(slices.Clone(errs), more...) {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			all = append(all, e)
		}
	}
	return all.Err()
}

// prepared is what validation built: the sinks, and the engine when it is the one the
// run uses (no organization discovery).
type prepared struct {
	sinks map[string]sink.Sink
	state state.Store // nil without a state section
	eng   *query.Engine
	plans map[string]*query.Plan // by query name, the queries that planned
}

func (p *prepared) close() {
	for _, s := range p.sinks {
		s.Close()
	}
	if p.state != nil {
		p.state.Close()
	}
	if p.eng != nil {
		p.eng.Close()
	}
}

// prepare validates cfg and returns what it built, the sinks built with env. keepEngine
// keeps the engine open for the run.
func prepare(ctx context.Context, cfg *config.Config, plugins map[string]query.PluginFunc, opts []query.Option, env sink.Env, keepEngine bool) (*prepared, error) {
	var errs config.Errors
	p := &prepared{sinks: map[string]sink.Sink{}, plans: map[string]*query.Plan{}}
	if !cfg.EnvOK() {
		// Values with unset variables are not what the file means; Parse said which.
		return p, nil
	}
	if len(cfg.Queries) == 0 && cfg.Serve == nil {
		// A file with a serve section is for spout serve, which needs no queries.
		errs = append(errs, cfg.At(config.Pos{Line: 1, Column: 1}, "no queries: add at least one under queries (spout serve needs none)"))
	}
	for _, sc := range cfg.Sinks {
		s, err := sink.Build(sc.Name, sc.Node, env)
		if err != nil {
			errs = append(errs, sinkErrors(cfg, sc, err)...)
			continue
		}
		p.sinks[sc.Name] = s
	}
	if cfg.State != nil {
		st, err := newStateStore(cfg.State)
		if err != nil {
			errs = append(errs, stateError(cfg, err))
		} else {
			p.state = st
		}
	}

	engineOK := cfg.ConnectionsOK()
	for _, c := range cfg.Connections {
		if _, ok := plugins[c.Plugin]; !ok {
			engineOK = false
			errs = append(errs, cfg.At(c.ValuePos("plugin"), "connections.%s: plugin %q is not available in this binary (available: %s)",
				c.Name, c.Plugin, strings.Join(slices.Sorted(maps.Keys(plugins)), ", ")))
		}
	}
	if cfg.Organization != nil {
		if _, ok := plugins["aws"]; !ok {
			engineOK = false
			errs = append(errs, cfg.At(cfg.Organization.Pos(), "organization: discovery needs the aws plugin, which this binary lacks"))
		}
	}
	if !engineOK {
		return p, errs.Err()
	}

	conns := staticConnections(cfg)
	if cfg.Organization != nil {
		// Discovery has not run (it calls AWS): stand-in accounts let the queries plan,
		// including any that name an account's connection.
		conns = append(standInConnections(cfg), conns...)
	}
	if !keepEngine || cfg.Organization != nil {
		// An engine only for planning needs no query cache. With run.query_cache_mb set,
		// the plugin SDK would preallocate that much per plugin and keep it after the
		// engine is closed, beside the cache of the engine the run then starts.
		opts = append(slices.Clone(opts), query.WithQueryCache(1))
	}
	eng, err := newEngine(ctx, cfg, plugins, conns, opts)
	if err != nil {
		errs = append(errs, engineError(cfg, err))
		return p, errs.Err()
	}
	for _, q := range cfg.Queries {
		if !q.HasSQL() {
			continue
		}
		plan, err := eng.Plan(ctx, q.Text)
		if err != nil {
			errs = append(errs, sqlError(q, err))
			continue
		}
		p.plans[q.Name] = plan
		errs = append(errs, diffErrors(cfg, q, plan.Columns)...)
	}
	if keepEngine && cfg.Organization == nil {
		p.eng = eng
	} else {
		eng.Close()
	}
	return p, errs.Err()
}

// sinkErrors turns a sink's build error into one config.Error per problem, each at
// the position the sink package found.
func sinkErrors(cfg *config.Config, sc *config.Sink, err error) config.Errors {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var errs config.Errors
	for _, err := range list {
		var ce *sink.ConfigError
		if !errors.As(err, &ce) {
			errs = append(errs, cfg.At(sc.Pos(), "sinks.%s: %s", sc.Name, err))
			continue
		}
		pos := sc.Pos()
		if ce.Line > 0 {
			pos = config.Pos{Line: ce.Line, Column: ce.Column}
		}
		errs = append(errs, cfg.At(pos, "sinks.%s: %s", ce.Sink, ce.Err))
	}
	return errs
}

// engineError locates an error from query.New at the connection it names.
func engineError(cfg *config.Config, err error) *config.Error {
	var ce *query.ConnectionError
	if !errors.As(err, &ce) {
		return cfg.At(config.Pos{}, "starting the query engine: %s", err)
	}
	if c := cfg.Connection(ce.Connection); c != nil {
		if c.Aggregator() {
			return cfg.At(c.ValuePos("connections"), "connections.%s: %s", c.Name, ce.Err)
		}
		return cfg.At(c.ValuePos("config"), "connections.%s: %s", c.Name, ce.Err)
	}
	if cfg.Organization != nil && (ce.Connection == config.AggregatorName || strings.HasPrefix(ce.Connection, config.AccountConnectionPrefix)) {
		return cfg.At(cfg.Organization.ValuePos("config"), "organization: %s", err)
	}
	return cfg.At(config.Pos{}, "starting the query engine: %s", err)
}

// sqlError locates a planning error inside the query's SQL.
func sqlError(q *config.Query, err error) *config.Error {
	msg := err.Error()
	var se *query.SQLError
	var mq *query.MissingQualError
	switch {
	case errors.As(err, &se):
		msg = se.Message
		if se.Hint != "" {
			msg += " (" + se.Hint + ")"
		}
	case errors.As(err, &mq):
		msg = mq.Table + " requires a qual on " + strings.Join(mq.Columns, " and ")
		if len(mq.Columns) > 0 {
			msg += fmt.Sprintf(": add e.g. where %s = '...'", mq.Columns[0])
		}
	}
	p, _ := query.PositionOf(err)
	line, col := p.Line, p.Column
	file, pos := q.SQLPos(line, col)
	// One error, one line: DuckDB puts its candidate columns on a line of their own.
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
	return &config.Error{File: file, Pos: pos, Msg: fmt.Sprintf("query %s: %s", q.Name, msg)}
}
