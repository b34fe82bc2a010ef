package query

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// scanFunction is the DuckDB table function every plugin-table reference is rewritten
// into: spout_scan('<scan id>'). The id points at a scan spec the rewrite registered with
// the table, connection, quals and limit for that one reference.
const scanFunction = "spout_scan"

// scanSpec is what the rewrite learned about one plugin-table reference.
type scanSpec struct {
	id      string
	host    *host
	conn    *connection // the connection named in the query (maybe an aggregator)
	targets []string    // the concrete connections to execute against
	table   string
	schema  *proto.TableSchema
	quals   map[string]*proto.Quals
	limit   int64 // -1: no limit pushed
	cache   bool
	partial bool // a failing member connection is recorded instead of failing the scan
	params  []scanParam
	stats   *scanStats
	// pos is the table reference's byte offset in the query text.
	pos int
	// empty is set when a query parameter yielded no values: the scan has no rows.
	empty bool
}

// scanParam pins a key column to the distinct values of another scan's column, or of
// the first column of a query, for joins and IN subqueries that give a required qual.
type scanParam struct {
	column     string
	from       *scanSpec
	fromColumn string
	// sql, when set, is a Postgres-dialect query whose first column gives the values. It
	// is planned with the query that needs it (plan) and run just before it
	// (Engine.resolveQueryParams).
	sql  string
	plan *prepared
}

func (s *scanSpec) hasParam(col string) bool {
	for _, p := range s.params {
		if p.column == col {
			return true
		}
	}
	return false
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
}

func newScanStats() *scanStats {
	return &scanStats{rows: map[string]int64{}, errs: map[string]error{}}
}

func (s *scanStats) addRow(conn string) {
	s.mu.Lock()
	s.rows[conn]++
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
	quals   map[string]*proto.Quals // spec.quals plus resolved join parameters
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
				return nil, fmt.Errorf("%s: unknown scan %q (plugin tables are only reachable through the query rewrite)", scanFunction, id)
			}
			spec := v.(*scanSpec)
			src := &scanSource{eng: e, spec: spec, ctx: ctx}
			for _, c := range spec.schema.Columns {
				ti, err := duckdb.NewTypeInfo(duckType(c.Type))
				if err != nil {
					return nil, err
				}
				src.cols = append(src.cols, duckdb.ColumnInfo{Name: c.Name, T: ti})
			}
			return src, nil
		},
	}
	if err := duckdb.RegisterTableUDF(conn, scanFunction, fn); err != nil {
		return fmt.Errorf("registering %s: %w", scanFunction, err)
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
				return fmt.Errorf("%s.%s: column %s: %w", s.spec.conn.name, s.spec.table, s.names[i], err)
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
	for i, c := range s.spec.schema.Columns {
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
	s.rowsCh = make(chan scanRow, 256)
	quals, err := s.resolveParams(ctx)
	if err != nil || quals == nil {
		// No outer values means no rows; an error is delivered as the scan's first row.
		go func() {
			if err != nil {
				s.rowsCh <- scanRow{err: err}
			}
			close(s.rowsCh)
		}()
		return
	}
	s.quals = quals
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.eng.maxConnScans)
	for _, target := range s.spec.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			s.execute(ctx, target)
		}()
	}
	go func() {
		wg.Wait()
		close(s.rowsCh)
	}()
}

var callSeq atomic.Int64

func (s *scanSource) execute(ctx context.Context, target string) {
	spec := s.spec
	columns := s.names
	if len(columns) == 0 {
		// count(*) projects nothing; ask for the cheapest column so the plugin still lists.
		columns = []string{spec.schema.Columns[0].Name}
	}
	var limit *proto.NullableInt
	if spec.limit >= 0 {
		limit = &proto.NullableInt{Value: spec.limit}
	}
	req := &proto.ExecuteRequest{
		Table:      spec.table,
		Connection: target,
		CallId:     fmt.Sprintf("spout-%d", callSeq.Add(1)),
		QueryContext: &proto.QueryContext{
			Columns: columns,
			Quals:   s.quals,
			Limit:   limit,
		},
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
			target: {Limit: limit, CacheEnabled: spec.cache, CacheTtl: 300},
		},
	}
	stream := &execStream{ctx: ctx, send: func(resp *proto.ExecuteResponse) error {
		if resp == nil || resp.Row == nil {
			return nil
		}
		select {
		case s.rowsCh <- scanRow{row: resp.Row, conn: target}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	// Execute (rather than CallExecuteAsync) returns the scan's own error: the async
	// path can report a failed scan as a clean end of stream.
	err := spec.host.execute(req, stream)
	if err == nil || ctx.Err() != nil {
		return
	}
	perr := &PluginError{Plugin: spec.host.name, Connection: target, Table: spec.table, Err: err}
	spec.stats.fail(target, perr)
	if spec.partial {
		s.eng.logger.Warn("connection failed; its rows are missing from the result",
			"connection", target, "table", spec.table, "error", err)
		return
	}
	select {
	case s.rowsCh <- scanRow{err: perr}:
	case <-ctx.Done():
	}
}

// resolveParams returns the scan's quals with every join parameter turned into an IN
// list of the other table's values; nil (and no error) when a parameter has no values.
func (s *scanSource) resolveParams(ctx context.Context) (map[string]*proto.Quals, error) {
	spec := s.spec
	if spec.empty {
		return nil, nil
	}
	if len(spec.params) == 0 {
		return spec.quals, nil
	}
	quals := make(map[string]*proto.Quals, len(spec.quals)+len(spec.params))
	for k, v := range spec.quals {
		quals[k] = v
	}
	colType := map[string]proto.ColumnType{}
	for _, c := range spec.schema.Columns {
		colType[c.Name] = c.Type
	}
	for _, p := range spec.params {
		if p.from == nil {
			continue // a query parameter, resolved before the query ran
		}
		vals, err := s.eng.distinctValues(ctx, p.from, p.fromColumn, colType[p.column])
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, nil
		}
		if len(vals) > maxParamValues {
			return nil, fmt.Errorf("%s.%s: the join gives %d values for %s, more than %d; add a qual on %s",
				spec.conn.name, spec.table, len(vals), p.column, maxParamValues, p.from.table)
		}
		quals[p.column] = inList(p.column, vals)
		s.eng.logger.Debug("join parameter resolved", "table", spec.table, "column", p.column,
			"from", p.from.table+"."+p.fromColumn, "values", len(vals))
	}
	return quals, nil
}

// distinctValues scans one column of another plugin table, with that table's own quals,
// and returns its distinct non-NULL values as qual values for a column of type t.
func (e *Engine) distinctValues(ctx context.Context, spec *scanSpec, column string, t proto.ColumnType) ([]*proto.QualValue, error) {
	var mu sync.Mutex
	set := newQualSet(t)
	var firstErr error
	var wg sync.WaitGroup
	for _, target := range spec.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &proto.ExecuteRequest{
				Table:      spec.table,
				Connection: target,
				CallId:     fmt.Sprintf("spout-%d", callSeq.Add(1)),
				QueryContext: &proto.QueryContext{
					Columns: []string{column},
					Quals:   spec.quals,
				},
				ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
					target: {CacheEnabled: spec.cache, CacheTtl: 300},
				},
			}
			stream := &execStream{ctx: ctx, send: func(resp *proto.ExecuteResponse) error {
				if resp == nil || resp.Row == nil {
					return nil
				}
				v, err := columnValue(resp.Row.Columns[column])
				if err != nil {
					return nil
				}
				mu.Lock()
				set.add(v)
				mu.Unlock()
				return nil
			}}
			if err := spec.host.execute(req, stream); err != nil && ctx.Err() == nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = &PluginError{Plugin: spec.host.name, Connection: target, Table: spec.table, Err: err}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return set.vals, ctx.Err()
}

// execStream receives a plugin's rows in-process, in place of a gRPC server stream.
type execStream struct {
	grpc.ServerStream
	ctx  context.Context
	send func(*proto.ExecuteResponse) error
}

func (s *execStream) Send(r *proto.ExecuteResponse) error { return s.send(r) }
func (s *execStream) Context() context.Context            { return s.ctx }

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

// qualValue converts a constant from the query into the plugin's qual value for a column of
// type t. ok is false when the constant cannot be expressed for that column, in which case
// the qual is simply not pushed down (the SQL engine still filters).
func qualValue(t proto.ColumnType, v any) (*proto.QualValue, bool) {
	switch t {
	case proto.ColumnType_STRING, proto.ColumnType_IPADDR, proto.ColumnType_CIDR, proto.ColumnType_INET, proto.ColumnType_LTREE, proto.ColumnType_UNKNOWN:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		switch t {
		case proto.ColumnType_IPADDR, proto.ColumnType_CIDR, proto.ColumnType_INET:
			return &proto.QualValue{Value: &proto.QualValue_InetValue{InetValue: &proto.Inet{Addr: s, Cidr: s}}}, true
		case proto.ColumnType_LTREE:
			return &proto.QualValue{Value: &proto.QualValue_LtreeValue{LtreeValue: s}}, true
		}
		return &proto.QualValue{Value: &proto.QualValue_StringValue{StringValue: s}}, true
	case proto.ColumnType_INT:
		switch n := v.(type) {
		case int64:
			return &proto.QualValue{Value: &proto.QualValue_Int64Value{Int64Value: n}}, true
		}
	case proto.ColumnType_DOUBLE:
		switch n := v.(type) {
		case int64:
			return &proto.QualValue{Value: &proto.QualValue_DoubleValue{DoubleValue: float64(n)}}, true
		case float64:
			return &proto.QualValue{Value: &proto.QualValue_DoubleValue{DoubleValue: n}}, true
		}
	case proto.ColumnType_BOOL:
		if b, ok := v.(bool); ok {
			return &proto.QualValue{Value: &proto.QualValue_BoolValue{BoolValue: b}}, true
		}
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		ts, ok := parseTimestamp(s)
		if !ok {
			return nil, false
		}
		return &proto.QualValue{Value: &proto.QualValue_TimestampValue{TimestampValue: timestamppb.New(ts)}}, true
	case proto.ColumnType_JSON:
		s, ok := v.(string)
		if !ok || !json.Valid([]byte(s)) {
			return nil, false
		}
		return &proto.QualValue{Value: &proto.QualValue_JsonbValue{JsonbValue: s}}, true
	}
	return nil, false
}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// sortedQualColumns lists the qual columns of a scan in a stable order, for logs and errors.
func sortedQualColumns(q map[string]*proto.Quals) []string {
	out := make([]string, 0, len(q))
	for k := range q {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
