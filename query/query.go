package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spoutdev/spout/query/internal/rewrite"
	"github.com/spoutdev/spout/query/internal/udf"
)

// QueryOption tunes one query.
type QueryOption func(*queryOptions)

type queryOptions struct {
	cache     bool
	partial   bool
	scanCache *ScanCache
}

// UseCache lets the query reuse rows of identical scans made in the last 5 minutes (the
// plugins' query cache, sized by WithQueryCache). With the cache on, a cancelled query
// lets scans already running finish filling the cache.
//
// Size the cache well above the largest scan: the plugin SDK (v5.13) hangs a cached scan
// whose result outgrows the cache, and only the query's context ends it. Scans served
// by a ScanCache (WithScanCache) never use the plugins' cache.
func UseCache() QueryOption { return func(o *queryOptions) { o.cache = true } }

// AllowPartial keeps a query going when one member connection of an aggregator fails:
// its rows are missing and the failure is reported in Rows.Stats instead of failing the
// whole query.
func AllowPartial() QueryOption { return func(o *queryOptions) { o.partial = true } }

// Plan is what Engine.Plan learned about a query without calling any API.
type Plan struct {
	Columns []Column
	Scans   []ScanInfo
	// SQL is the rewritten text the SQL engine runs, for debugging.
	SQL string
}

// ScanInfo describes one plugin-table scan of a query.
type ScanInfo struct {
	Connection string
	Table      string
	Quals      []string // e.g. region = 'us-east-1'
	Limit      int64    // -1 when no limit is pushed down
}

// Plan parses, rewrites and binds sql against the plugins' schemas. It calls no API: this
// is what `spout validate` runs.
func (e *Engine) Plan(ctx context.Context, sqlText string, opts ...QueryOption) (*Plan, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	p, err := e.prepare(ctx, sqlText, opts)
	if err != nil {
		return nil, err
	}
	defer e.release(p.scans)
	out := &Plan{Columns: p.columns, SQL: p.sql}
	for _, s := range p.scans {
		out.Scans = append(out.Scans, s.info())
	}
	return out, nil
}

type prepared struct {
	sql     string // the rewritten text DuckDB runs
	scans   []*scanSpec
	columns []Column
	ordered bool
}

func (e *Engine) prepare(ctx context.Context, sqlText string, opts []QueryOption) (*prepared, error) {
	var o queryOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.scanCache != nil && o.scanCache.eng != e {
		return nil, errors.New("query: WithScanCache: the scan cache belongs to another engine")
	}
	pl, err := rewrite.Rewrite(sqlText, catalog{e}, e.newScanID)
	if err != nil {
		return nil, locate(sqlText, err)
	}
	p := &prepared{sql: pl.SQL, ordered: pl.Ordered}
	for _, s := range pl.Scans {
		conn := e.byName[s.Connection]
		spec := &scanSpec{
			Scan:      s,
			host:      e.hosts[conn.plugin],
			conn:      conn,
			targets:   e.targets(conn),
			cache:     o.cache,
			partial:   o.partial,
			stats:     newScanStats(),
			scanCache: o.scanCache,
		}
		p.scans = append(p.scans, spec)
		e.scans.Store(s.ID, spec)
	}
	if err := e.checkQueryParams(ctx, sqlText, p.scans, opts); err != nil {
		e.release(p.scans)
		return nil, err
	}
	cols, err := e.describe(ctx, p.sql)
	if err != nil {
		e.logger.Debug("SQL engine rejected the rewritten query", "rewritten", p.sql, "error", err)
		e.release(p.scans)
		return nil, e.sqlError(sqlText, err, p.scans)
	}
	p.columns = cols
	return p, nil
}

// locate places an error of the rewrite at its line and column in the user's text.
func locate(sqlText string, err error) error {
	var re *rewrite.Error
	var mq *rewrite.MissingQualError
	switch {
	case errors.As(err, &re):
		return &SQLError{Position: positionAt(sqlText, re.Offset), Message: re.Msg, Err: re.Err}
	case errors.As(err, &mq):
		return &MissingQualError{Position: positionAt(sqlText, mq.Offset), Table: mq.Table, Columns: mq.Columns}
	}
	return err
}

func (e *Engine) release(scans []*scanSpec) {
	for _, s := range scans {
		e.scans.Delete(s.ID)
		for _, p := range s.plans {
			e.release(p.scans)
		}
	}
}

// ErrPlanTimeout is returned (wrapped in a SQLError) when binding a query takes longer
// than the engine's plan timeout.
var ErrPlanTimeout = errors.New("planning the query took too long")

// describe binds the query and reads its result columns without running it. Binding is
// bounded by the plan timeout: some queries make DuckDB's binder work for minutes without
// checking for interrupts, and a scheduled run must not hang on one.
func (e *Engine) describe(ctx context.Context, sqlText string) ([]Column, error) {
	type result struct {
		cols []Column
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan result, 1)
	go func() {
		cols, err := e.bind(ctx, sqlText)
		done <- result{cols, err}
	}()
	timer := time.NewTimer(e.planTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		cancel()
		return r.cols, r.err
	case <-timer.C:
		// The binder goroutine finishes (or is interrupted) on its own; its connection
		// returns to the pool then.
		cancel()
		return nil, fmt.Errorf("%w (more than %s); simplify it, e.g. fewer OR branches or nested JSON operators", ErrPlanTimeout, e.planTimeout)
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
}

func (e *Engine) bind(ctx context.Context, sqlText string) ([]Column, error) {
	rows, err := e.db.QueryContext(ctx, "DESCRIBE "+sqlText)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var name, typ string
		var rest [4]any
		if err := rows.Scan(&name, &typ, &rest[0], &rest[1], &rest[2], &rest[3]); err != nil {
			return nil, fmt.Errorf("reading result columns: %w", err)
		}
		cols = append(cols, Column{Name: name, Type: pgType(typ), EngineType: typ})
	}
	return cols, rows.Err()
}

// Query runs sql and streams its rows. Close the Rows (or read them to the end) to release
// the plugin scans; cancelling ctx stops the plugins' API calls.
func (e *Engine) Query(ctx context.Context, sqlText string, opts ...QueryOption) (*Rows, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	p, err := e.prepare(ctx, sqlText, opts)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, sqlText, p, opts)
}

// run starts a prepared query, after running its query parameters. It releases the
// query's scans when it fails.
func (e *Engine) run(ctx context.Context, sqlText string, p *prepared, opts []QueryOption) (*Rows, error) {
	if err := e.resolveQueryParams(ctx, p.scans, opts); err != nil {
		e.release(p.scans)
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Rows{eng: e, sql: sqlText, cols: p.columns, scans: p.scans, ctx: ctx, cancel: cancel}
	if p.ordered {
		rows, err := e.db.QueryContext(ctx, p.sql)
		if err != nil {
			// Translate before cancelling: a cancelled context would mask the real error.
			terr := r.translate(ctx, err)
			cancel()
			e.release(p.scans)
			return nil, terr
		}
		r.sqlRows = rows
		r.dest = make([]any, len(p.columns))
		r.ptrs = make([]any, len(p.columns))
		for i := range r.dest {
			r.ptrs[i] = &r.dest[i]
		}
		return r, nil
	}
	r.stream(ctx, p)
	return r, nil
}

// stream runs the query with every result row handed to spout_emit as DuckDB produces it,
// so a large result flows through a bounded buffer instead of being materialised.
func (r *Rows) stream(ctx context.Context, p *prepared) {
	e := r.eng
	qid := "q" + strconv.FormatInt(e.seq.Add(1), 10)
	em := &emitter{ch: make(chan []any, 1024), done: make(chan struct{})}
	e.emits.Store(qid, em)
	r.em, r.qid = em, qid
	r.finished = make(chan struct{})
	wrapped := fmt.Sprintf("SELECT count(%s('%s', *COLUMNS(*))) FROM (%s) AS spout_result", emitFunction, qid, p.sql)
	go func() {
		defer close(r.finished)
		var n int64
		err := e.db.QueryRowContext(ctx, wrapped).Scan(&n)
		em.err = err
		close(em.ch)
	}()
}

// emitFunction receives every result row of a streamed query.
const emitFunction = "spout_emit"

type emitter struct {
	ch   chan []any
	done chan struct{} // closed when the reader goes away
	err  error         // the query's error, set before ch is closed
	once sync.Once
}

var errReaderGone = errors.New("result reader closed")

func (e *Engine) registerEmitFunction(ctx context.Context) error {
	ti, err := udf.TypeInfos(duckdb.TYPE_VARCHAR, duckdb.TYPE_ANY, duckdb.TYPE_BOOLEAN)
	if err != nil {
		return err
	}
	f := &emitUDF{
		cfg: duckdb.ScalarFuncConfig{
			InputTypeInfos:      ti[:1],
			VariadicTypeInfo:    ti[1],
			ResultTypeInfo:      ti[2],
			Volatile:            true,
			SpecialNullHandling: true,
		},
		eng: e,
	}
	return udf.RegisterScalars(ctx, e.db, map[string]duckdb.ScalarFunc{emitFunction: f})
}

type emitUDF struct {
	cfg duckdb.ScalarFuncConfig
	eng *Engine
}

func (f *emitUDF) Config() duckdb.ScalarFuncConfig { return f.cfg }

func (f *emitUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		qid, _ := values[0].(string)
		v, ok := f.eng.emits.Load(qid)
		if !ok {
			return nil, fmt.Errorf("%s: unknown query %q", emitFunction, qid)
		}
		em := v.(*emitter)
		row := make([]any, len(values)-1)
		for i, v := range values[1:] {
			row[i] = v
		}
		select {
		case em.ch <- row:
			return true, nil
		case <-em.done:
			return nil, errReaderGone
		}
	}}
}

var quotedName = regexp.MustCompile(`"([^"]+)"`)

// sqlError turns a SQL engine error into a SQLError located in the user's text. DuckDB
// reports positions in the rewritten text, so the location is found again by name.
func (e *Engine) sqlError(userSQL string, err error, scans []*scanSpec) error {
	msg := err.Error()
	if i := strings.Index(msg, "\n\nLINE"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(msg)
	if strings.Contains(msg, rewrite.ScanFunc) || strings.Contains(msg, emitFunction) {
		msg = strings.ReplaceAll(msg, rewrite.ScanFunc, "plugin scan")
	}
	if errors.Is(err, ErrPlanTimeout) {
		return &SQLError{Message: msg, Err: err}
	}
	pos := -1
	if m := quotedName.FindStringSubmatch(msg); m != nil {
		pos = findIdent(userSQL, m[1])
	}
	// DuckDB's C API gives an error's type but not its details: the names are read from
	// the message of the error types that carry them.
	var de *duckdb.Error
	errors.As(err, &de)
	catalogErr := de != nil && de.Type == duckdb.ErrorTypeCatalog
	binderErr := de != nil && de.Type == duckdb.ErrorTypeBinder
	var hint string
	if m := missingFunction.FindStringSubmatch(msg); catalogErr && m != nil {
		// A Postgres function DuckDB lacks and no compat rule covers yet.
		name := m[1]
		msg = fmt.Sprintf("function %s is not supported", name)
		hint = fmt.Sprintf("Spout runs Postgres SQL on DuckDB and has no equivalent of %s yet", name)
		if fam, ok := functionFamilies[name]; ok {
			hint = fam + ": " + name + " is not supported"
		}
		pos = findIdent(userSQL, name)
	} else if m := missingAliasColumn.FindStringSubmatch(msg); binderErr && m != nil {
		// DuckDB calls the scan subquery a "values list"; say it the Postgres way.
		alias, col := m[1], m[2]
		msg = fmt.Sprintf("column %s.%s does not exist%s", alias, col, suggest(col, scanColumns(scans)))
		pos = findIdent(userSQL, alias+"."+col)
	} else if m := missingColumn.FindStringSubmatch(msg); binderErr && m != nil {
		msg = fmt.Sprintf("column %s does not exist%s", m[1], suggest(m[1], scanColumns(scans)))
	} else if strings.Contains(msg, "invalid perl operator") {
		msg = "regular expression built at run time uses lookaround ((?=, (?!, (?<=, (?<!), which the SQL engine's RE2 does not support"
		hint = "write the pattern as a constant string (lookaround works there), or without lookahead, e.g. as several ~ conditions joined with AND"
		pos = strings.Index(userSQL, "(?")
	}
	se := newSQLError(userSQL, pos, msg)
	se.Hint = hint
	se.Err = err
	return se
}

var (
	missingAliasColumn = regexp.MustCompile(`Values list "([^"]+)" does not have a column named "([^"]+)"`)
	missingColumn      = regexp.MustCompile(`Referenced column "([^"]+)" not found`)
)

func scanColumns(scans []*scanSpec) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range scans {
		for _, c := range s.Schema.Columns {
			if !seen[c.Name] {
				seen[c.Name] = true
				out = append(out, c.Name)
			}
		}
	}
	return out
}

var missingFunction = regexp.MustCompile(`(?:Scalar|Table|Aggregate) Function with name "?([A-Za-z_0-9]+)"? (?:does not exist|is not in the catalog)`)

// functionFamilies names the Postgres feature a missing function belongs to, for hints.
var functionFamilies = map[string]string{
	"inet_merge": "inet functions", "inet_same_family": "inet functions", "set_masklen": "inet functions",
	"subpath": "ltree functions", "subltree": "ltree functions", "lca": "ltree functions", "index": "ltree functions",
	"to_tsvector": "full-text search", "to_tsquery": "full-text search", "ts_rank": "full-text search",
	"jsonb_set": "jsonb modification", "jsonb_insert": "jsonb modification", "jsonb_path_query": "SQL/JSON path",
}

// findIdent finds name in sql as a whole identifier outside string literals.
func findIdent(sqlText, name string) int {
	if name == "" {
		return -1
	}
	lower := strings.ToLower(sqlText)
	target := strings.ToLower(name)
	inStr := false
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		if c == '\'' {
			inStr = !inStr
			continue
		}
		if inStr || !strings.HasPrefix(lower[i:], target) {
			continue
		}
		before := i == 0 || !isIdentByte(lower[i-1])
		after := i+len(target) >= len(lower) || !isIdentByte(lower[i+len(target)])
		if before && after {
			return i
		}
	}
	return -1
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
