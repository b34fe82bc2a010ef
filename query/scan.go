package query

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"golang.org/x/sync/errgroup"

	"github.com/spoutdev/spout/query/internal/plugin"
	"github.com/spoutdev/spout/query/internal/rewrite"
)

// scanSpec is one plugin-table reference of a planned query: what the rewrite pushes
// down, and where and how the engine runs it. The rewritten SQL reaches it through
// rewrite.ScanFunc(ID).
type scanSpec struct {
	*rewrite.Scan
	host    *plugin.Host
	conn    *connection // the connection named in the query (maybe an aggregator)
	targets []string    // the concrete connections to execute against
	cache   bool
	partial bool // a failing member connection is recorded instead of failing the scan
	// scanCache, when set, serves the scan's connection scans (WithScanCache).
	scanCache *ScanCache
	stats     *scanStats
	// plans holds the query parameters' own plans, made with the query that needs them
	// and run just before it (Engine.resolveQueryParams).
	plans map[*rewrite.Param]*prepared
	// empty is set when a query parameter yielded no values: the scan has no rows.
	empty bool
}

// specOf returns the engine's spec of a scan the rewrite planned; the scans of one query
// are registered together, so a parameter's source is always there.
func (e *Engine) specOf(s *rewrite.Scan) *scanSpec {
	v, _ := e.scans.Load(s.ID)
	return v.(*scanSpec)
}

// maxParamValues bounds the IN list a join parameter may produce.
const maxParamValues = 10000

// scanStats collects what happened to one scan, per connection, for Rows.Stats.
type scanStats struct {
	mu      sync.Mutex
	rows    map[string]int64
	errs    map[string]error
	columns []string
	started bool
	// connection scans made through the plugin, and served by the scan cache
	pluginScans, cachedScans int
}

func newScanStats() *scanStats {
	return &scanStats{rows: map[string]int64{}, errs: map[string]error{}}
}

func (s *scanStats) addRow(conn string) {
	s.mu.Lock()
	s.rows[conn]++
	s.mu.Unlock()
}

func (s *scanStats) scanned(cached bool) {
	s.mu.Lock()
	if cached {
		s.cachedScans++
	} else {
		s.pluginScans++
	}
	s.mu.Unlock()
}

func (s *scanStats) fail(conn string, err error) {
	s.mu.Lock()
	if _, ok := s.errs[conn]; !ok {
		s.errs[conn] = err
	}
	s.mu.Unlock()
}

// duckType maps a plugin column type onto the DuckDB type the scan function returns.
// JSON leaves as VARCHAR and is cast in the wrapping subquery: duckdb-go cannot declare a
// JSON result column from Go.
func duckType(t proto.ColumnType) duckdb.Type {
	switch t {
	case proto.ColumnType_BOOL:
		return duckdb.TYPE_BOOLEAN
	case proto.ColumnType_INT:
		return duckdb.TYPE_BIGINT
	case proto.ColumnType_DOUBLE:
		return duckdb.TYPE_DOUBLE
	//lint:ignore SA1019 older plugins still send DATETIME for timestamp columns
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		return duckdb.TYPE_TIMESTAMP_TZ
	default:
		return duckdb.TYPE_VARCHAR
	}
}

// scanSource is one bound instance of spout_scan: DuckDB binds, inits and then pulls rows.
type scanSource struct {
	eng  *Engine
	spec *scanSpec
	ctx  context.Context
	cols []duckdb.ColumnInfo

	// execution state, reset by Init
	started bool
	proj    []int    // indexes of the projected columns
	names   []string // their names
	rowsCh  chan scanRow
	cancel  context.CancelFunc
	done    bool
}

type scanRow struct {
	row  *proto.Row
	conn string
	err  error
}

func (e *Engine) registerScanFunction(ctx context.Context) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("opening DuckDB connection: %w", err)
	}
	defer conn.Close()
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	fn := duckdb.ChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{varchar}},
		BindArgumentsContext: func(ctx context.Context, _ map[string]any, args ...any) (duckdb.ChunkTableSource, error) {
			id, _ := args[0].(string)
			v, ok := e.scans.Load(id)
			if !ok {
				return nil, fmt.Errorf("%s: unknown scan %q (plugin tables are only reachable through the query rewrite)", rewrite.ScanFunc, id)
			}
			spec := v.(*scanSpec)
			src := &scanSource{eng: e, spec: spec, ctx: ctx}
			for _, c := range spec.Schema.Columns {
				ti, err := duckdb.NewTypeInfo(duckType(c.Type))
				if err != nil {
					return nil, err
				}
				src.cols = append(src.cols, duckdb.ColumnInfo{Name: c.Name, T: ti})
			}
			return src, nil
		},
	}
	if err := duckdb.RegisterTableUDF(conn, rewrite.ScanFunc, fn); err != nil {
		return fmt.Errorf("registering %s: %w", rewrite.ScanFunc, err)
	}
	return nil
}

func (s *scanSource) ColumnInfos() []duckdb.ColumnInfo { return s.cols }

func (s *scanSource) Cardinality() *duckdb.CardinalityInfo { return nil }

func (s *scanSource) Init() {
	if s.cancel != nil {
		s.cancel()
	}
	s.started, s.done, s.proj, s.names, s.rowsCh, s.cancel = false, false, nil, nil, nil, nil
}

// FillChunk hands DuckDB the rows that are ready: it blocks for the first one, then takes
// what is already buffered, so a slow API never holds back rows that have arrived.
func (s *scanSource) FillChunk(chunk duckdb.DataChunk) error {
	if s.done {
		return chunk.SetSize(0)
	}
	capacity := duckdb.GetDataChunkCapacity()
	if !s.started {
		s.start(&chunk, capacity-1)
		// start marked the chunk's last row NULL; keep it out of this first chunk.
		capacity--
	}
	n := 0
	for n < capacity {
		var r scanRow
		var ok bool
		if n == 0 {
			select {
			case r, ok = <-s.rowsCh:
			case <-s.ctx.Done():
				s.finish()
				return s.ctx.Err()
			}
		} else {
			select {
			case r, ok = <-s.rowsCh:
			default:
				return chunk.SetSize(n)
			}
		}
		if !ok {
			s.finish()
			return chunk.SetSize(n)
		}
		if r.err != nil {
			s.finish()
			return r.err
		}
		cols := r.row.GetColumns()
		for i, idx := range s.proj {
			v, err := columnValue(cols[s.names[i]])
			if err == nil {
				err = chunk.SetValue(idx, n, v)
			}
			if err != nil {
				s.finish()
				return fmt.Errorf("%s.%s: column %s: %w", s.spec.conn.name, s.spec.Table, s.names[i], err)
			}
		}
		s.spec.stats.addRow(r.conn)
		n++
	}
	return chunk.SetSize(n)
}

func (s *scanSource) finish() {
	s.done = true
	if s.cancel != nil {
		s.cancel()
	}
}

// start asks the plugin for the projected columns of every target connection. Each member
// of an aggregator gets its own Execute call so a failure is attributed to its connection.
func (s *scanSource) start(chunk *duckdb.DataChunk, probeRow int) {
	s.started = true
	for i, c := range s.spec.Schema.Columns {
		// duckdb-go does not expose the projection; an unprojected column is the one that
		// cannot be read back after writing a NULL into it. The NULL sticks (setters do
		// not restore validity), so the probe row is one the caller will not return.
		_ = chunk.SetValue(i, probeRow, nil)
		if _, err := chunk.GetValue(i, probeRow); err == nil {
			s.proj = append(s.proj, i)
			s.names = append(s.names, c.Name)
		}
	}
	s.spec.stats.mu.Lock()
	s.spec.stats.columns = append([]string(nil), s.names...)
	s.spec.stats.started = true
	s.spec.stats.mu.Unlock()

	ctx, cancel := context.WithCancel(s.ctx)
	s.cancel = cancel
	// Producers write to this channel, never to the field: Init may start the scan
	// afresh while a cancelled producer is still winding down.
	rows := make(chan scanRow, 256)
	s.rowsCh = rows
	quals, err := s.resolveParams(ctx)
	if err != nil || quals == nil {
		// No outer values means no rows; an error is delivered as the scan's first row.
		go func() {
			if err != nil {
				rows <- scanRow{err: err}
			}
			close(rows)
		}()
		return
	}
	var g errgroup.Group
	g.SetLimit(s.eng.maxConnScans)
	go func() {
		for _, target := range s.spec.targets {
			if ctx.Err() != nil {
				break
			}
			g.Go(func() error {
				s.execute(ctx, target, quals, rows)
				return nil
			})
		}
		g.Wait()
		close(rows)
	}()
}

var callSeq atomic.Int64

func (s *scanSource) execute(ctx context.Context, target string, quals map[string]*proto.Quals, rows chan<- scanRow) {
	spec := s.spec
	columns := s.names
	if len(columns) == 0 {
		// count(*) projects nothing; ask for the cheapest column so the plugin still lists.
		columns = []string{spec.Schema.Columns[0].Name}
	}
	req := connScan{target: target, columns: columns, quals: quals, limit: spec.Limit}
	err := spec.rows(ctx, req, func(row *proto.Row) error {
		select {
		case rows <- scanRow{row: row, conn: target}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err == nil || ctx.Err() != nil {
		return
	}
	spec.stats.fail(target, err)
	if spec.partial {
		s.eng.logger.Warn("connection failed; its rows are missing from the result",
			"connection", target, "table", spec.Table, "error", err)
		return
	}
	select {
	case rows <- scanRow{err: err}:
	case <-ctx.Done():
	}
}

// rows hands send the rows of one connection scan: from the scan cache when the query
// has one, otherwise straight from the plugin.
func (spec *scanSpec) rows(ctx context.Context, req connScan, send func(*proto.Row) error) error {
	if spec.scanCache == nil {
		spec.stats.scanned(false)
		return spec.call(ctx, req, send)
	}
	r, started, err := spec.scanCache.acquire(spec, req)
	if err != nil {
		return err
	}
	defer r.close()
	spec.stats.scanned(!started)
	for {
		row, err := r.next(ctx)
		if err != nil || row == nil {
			return err
		}
		if err := send(row); err != nil {
			return err
		}
	}
}

// call executes one connection scan through the plugin, handing each row to send. A
// failure is a *PluginError; a cancelled scan ends early without one.
func (spec *scanSpec) call(ctx context.Context, req connScan, send func(*proto.Row) error) error {
	var limit *proto.NullableInt
	if req.limit >= 0 {
		limit = &proto.NullableInt{Value: req.limit}
	}
	pr := &proto.ExecuteRequest{
		Table:      spec.Table,
		Connection: req.target,
		CallId:     fmt.Sprintf("spout-%d", callSeq.Add(1)),
		QueryContext: &proto.QueryContext{
			Columns: req.columns,
			Quals:   req.quals,
			//lint:ignore SA1019 plugins built on SDKs before ExecuteConnectionData read the limit here
			Limit: limit,
		},
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
			// A scan cache's scans outlive the query that started them: the SDK's
			// cache, which hangs scans that outgrow it, stays out of them.
			req.target: {Limit: limit, CacheEnabled: spec.cache && spec.scanCache == nil, CacheTtl: 300},
		},
	}
	stream := plugin.NewStream(ctx, func(resp *proto.ExecuteResponse) error {
		if resp == nil || resp.Row == nil {
			return nil
		}
		return send(resp.Row)
	})
	// Execute (rather than CallExecuteAsync) returns the scan's own error: the async
	// path can report a failed scan as a clean end of stream.
	err := spec.host.Execute(pr, stream)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return &PluginError{Plugin: spec.host.Name(), Connection: req.target, Table: spec.Table, Err: err}
}

// resolveParams returns the scan's quals with every join parameter turned into an IN
// list of the other table's values; nil (and no error) when a parameter has no values.
func (s *scanSource) resolveParams(ctx context.Context) (map[string]*proto.Quals, error) {
	spec := s.spec
	if spec.empty {
		return nil, nil
	}
	if len(spec.Params) == 0 {
		return spec.Quals, nil
	}
	quals := make(map[string]*proto.Quals, len(spec.Quals)+len(spec.Params))
	for k, v := range spec.Quals {
		quals[k] = v
	}
	for _, p := range spec.Params {
		if p.From == nil {
			continue // a query parameter, resolved before the query ran
		}
		vals, err := s.eng.distinctValues(ctx, s.eng.specOf(p.From), p.FromColumn, spec.ColumnType(p.Column))
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, nil
		}
		if len(vals) > maxParamValues {
			return nil, fmt.Errorf("%s.%s: the join gives %d values for %s, more than %d; add a qual on %s",
				spec.conn.name, spec.Table, len(vals), p.Column, maxParamValues, p.From.Table)
		}
		quals[p.Column] = rewrite.InList(p.Column, vals)
		s.eng.logger.Debug("join parameter resolved", "table", spec.Table, "column", p.Column,
			"from", p.From.Table+"."+p.FromColumn, "values", len(vals))
	}
	return quals, nil
}

// distinctValues scans one column of another plugin table, with that table's own quals,
// and returns its distinct non-NULL values as qual values for a column of type t.
func (e *Engine) distinctValues(ctx context.Context, spec *scanSpec, column string, t proto.ColumnType) ([]*proto.QualValue, error) {
	var mu sync.Mutex
	set := rewrite.NewQualSet(t)
	// The first failure ends the other connections' scans: the values are needed whole.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.maxConnScans)
	for _, target := range spec.targets {
		g.Go(func() error {
			req := connScan{target: target, columns: []string{column}, quals: spec.Quals, limit: -1}
			err := spec.rows(gctx, req, func(row *proto.Row) error {
				v, err := columnValue(row.Columns[column])
				if err != nil {
					return nil
				}
				mu.Lock()
				set.Add(v)
				mu.Unlock()
				return nil
			})
			if gctx.Err() != nil {
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return set.Values(), ctx.Err()
}

// columnValue converts a plugin value into what duckdb-go's setters accept for the
// column's DuckDB type.
func columnValue(c *proto.Column) (any, error) {
	if c == nil {
		return nil, nil
	}
	switch v := c.Value.(type) {
	case nil, *proto.Column_NullValue:
		return nil, nil
	case *proto.Column_StringValue:
		return v.StringValue, nil
	case *proto.Column_IntValue:
		return v.IntValue, nil
	case *proto.Column_DoubleValue:
		return v.DoubleValue, nil
	case *proto.Column_BoolValue:
		return v.BoolValue, nil
	case *proto.Column_JsonValue:
		if len(v.JsonValue) == 0 || string(v.JsonValue) == "null" {
			return nil, nil
		}
		return string(v.JsonValue), nil
	case *proto.Column_TimestampValue:
		if v.TimestampValue == nil {
			return nil, nil
		}
		return v.TimestampValue.AsTime(), nil
	case *proto.Column_IpAddrValue:
		return v.IpAddrValue, nil
	case *proto.Column_CidrRangeValue:
		return v.CidrRangeValue, nil
	case *proto.Column_LtreeValue:
		return v.LtreeValue, nil
	default:
		return nil, fmt.Errorf("unsupported plugin value %T", v)
	}
}
