package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spoutdev/spout/query/internal/rewrite"
)

// Column describes one result column. Type uses Postgres's names (text, bigint, double
// precision, boolean, timestamptz, jsonb, numeric, date, interval, text[] ...).
type Column struct {
	Name       string
	Type       string
	EngineType string // the SQL engine's own type name, e.g. VARCHAR[]
}

// Rows is a streamed query result, read like pgx or database/sql rows:
//
//	for rows.Next() { vals, err := rows.Values() ... }
//	if err := rows.Err(); err != nil { ... }
//
// Values are nil, string, int64, float64, bool, time.Time, or for jsonb, arrays and
// records the decoded JSON value (map[string]any, []any, string, float64, bool).
type Rows struct {
	eng    *Engine
	sql    string
	cols   []Column
	scans  []*scanSpec
	ctx    context.Context // the query's, for telling a cancelled query from a failed one
	cancel context.CancelFunc

	// ordered results come from database/sql
	sqlRows *sql.Rows
	dest    []any
	ptrs    []any

	// streamed results come from the emit function
	em       *emitter
	qid      string
	finished chan struct{}

	cur    []any
	err    error
	closed bool
}

// Columns returns the result's columns.
func (r *Rows) Columns() []Column { return r.cols }

// Next advances to the next row. It returns false at the end or on error (see Err).
func (r *Rows) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	if r.sqlRows != nil {
		if !r.sqlRows.Next() {
			if err := r.sqlRows.Err(); err != nil {
				r.err = r.translate(r.ctx, err)
			}
			r.Close()
			return false
		}
		if err := r.sqlRows.Scan(r.ptrs...); err != nil {
			r.err = r.translate(r.ctx, err)
			r.Close()
			return false
		}
		r.cur = normalizeRow(r.dest)
		return true
	}
	row, ok := <-r.em.ch
	if !ok {
		<-r.finished
		if r.em.err != nil {
			r.err = r.translate(r.ctx, r.em.err)
		}
		r.Close()
		return false
	}
	r.cur = normalizeRow(row)
	return true
}

// Values returns the current row's values. The slice is the caller's to keep.
func (r *Rows) Values() ([]any, error) {
	if r.cur == nil {
		return nil, errors.New("query: Values called without a current row")
	}
	return r.cur, nil
}

// Scan copies the current row into dest: pointers to string, int64, int, float64, bool,
// time.Time, []byte, json.RawMessage, any, a sql.Scanner, or a pointer to one of those
// (left nil for NULL).
func (r *Rows) Scan(dest ...any) error {
	if r.cur == nil {
		return errors.New("query: Scan called without a current row")
	}
	if len(dest) != len(r.cur) {
		return fmt.Errorf("query: Scan got %d destinations for %d columns", len(dest), len(r.cur))
	}
	for i, d := range dest {
		if err := assign(d, r.cur[i]); err != nil {
			return fmt.Errorf("query: scanning column %s: %w", r.cols[i].Name, err)
		}
	}
	return nil
}

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.err }

// Close stops the query and its plugin scans. It is safe to call more than once.
func (r *Rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.sqlRows != nil {
		err = r.sqlRows.Close()
	}
	if r.em != nil {
		r.em.once.Do(func() { close(r.em.done) })
		r.cancel()
		<-r.finished
		r.eng.emits.Delete(r.qid)
	}
	r.cancel()
	r.eng.release(r.scans)
	if err != nil {
		return fmt.Errorf("query: closing the result: %w", err)
	}
	return nil
}

// Stats reports, per plugin scan, the rows each connection returned and the connections
// that failed (only possible with AllowPartial; otherwise the query fails).
func (r *Rows) Stats() []ScanStats {
	out := make([]ScanStats, 0, len(r.scans))
	for _, s := range r.scans {
		st := ScanStats{ScanInfo: s.info(), Rows: map[string]int64{}, Errors: map[string]error{}}
		s.stats.mu.Lock()
		for k, v := range s.stats.rows {
			st.Rows[k] = v
		}
		for k, v := range s.stats.errs {
			st.Errors[k] = v
		}
		st.Columns = append(st.Columns, s.stats.columns...)
		st.PluginScans, st.CachedScans = s.stats.pluginScans, s.stats.cachedScans
		s.stats.mu.Unlock()
		out = append(out, st)
	}
	return out
}

// ScanStats is what happened to one plugin-table scan.
type ScanStats struct {
	ScanInfo
	Columns []string         // columns requested from the plugin
	Rows    map[string]int64 // rows received, by connection
	Errors  map[string]error // failed connections
	// PluginScans counts the connection scans (one per connection the scan covers, and
	// per join-parameter lookup) made through the plugin; CachedScans those a ScanCache
	// served from an identical scan of an earlier or concurrent query.
	PluginScans, CachedScans int
}

// translate prefers the typed error a plugin scan recorded over DuckDB's text of it.
func (r *Rows) translate(ctx context.Context, err error) error {
	for _, s := range r.scans {
		s.stats.mu.Lock()
		conns := make([]string, 0, len(s.stats.errs))
		for c := range s.stats.errs {
			conns = append(conns, c)
		}
		sort.Strings(conns)
		var first error
		if len(conns) > 0 && !s.partial {
			first = s.stats.errs[conns[0]]
		}
		s.stats.mu.Unlock()
		if first != nil {
			return first
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeInterrupt {
		// Interrupted without the query's context ending: the reader closed the rows.
		return context.Canceled
	}
	return r.eng.sqlError(r.sql, err, r.scans)
}

func (s *scanSpec) info() ScanInfo {
	info := ScanInfo{Connection: s.conn.name, Table: s.Table, Limit: s.Limit}
	for _, col := range rewrite.SortedQualColumns(s.Quals) {
		for _, q := range s.Quals[col].Quals {
			info.Quals = append(info.Quals, rewrite.FormatQual(q))
		}
	}
	for _, p := range s.Params {
		if p.From != nil {
			info.Quals = append(info.Quals, fmt.Sprintf("%s = any(values of %s.%s)", p.Column, p.From.Table, p.FromColumn))
		} else {
			info.Quals = append(info.Quals, p.Column+" = any(values of a subquery)")
		}
	}
	return info
}

func normalizeRow(vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = normalize(v)
	}
	return out
}

// normalize maps the SQL engine's Go values onto the small set Rows promises.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return v
	case time.Time:
		return x.UTC()
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case duckdb.Decimal:
		f, _ := new(big.Float).Quo(new(big.Float).SetInt(x.Value), new(big.Float).SetFloat64(pow10(int(x.Scale)))).Float64()
		return f
	case duckdb.Interval:
		return formatInterval(x)
	case duckdb.UUID:
		return formatUUID(x[:])
	case []byte:
		return x
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = normalize(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = normalize(item)
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[fmt.Sprint(k)] = normalize(item)
		}
		return out
	}
	return fmt.Sprint(v)
}

func pow10(n int) float64 {
	f := 1.0
	for i := 0; i < n; i++ {
		f *= 10
	}
	return f
}

// formatInterval prints an interval the way Postgres does: "1 year 2 mons 3 days 04:05:06".
func formatInterval(iv duckdb.Interval) string {
	var parts []string
	if y := iv.Months / 12; y != 0 {
		parts = append(parts, plural(int64(y), "year", "years"))
	}
	if m := iv.Months % 12; m != 0 {
		parts = append(parts, plural(int64(m), "mon", "mons"))
	}
	if iv.Days != 0 {
		parts = append(parts, plural(int64(iv.Days), "day", "days"))
	}
	if iv.Micros != 0 || len(parts) == 0 {
		us := iv.Micros
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		h := us / 3600e6
		m := us / 60e6 % 60
		s := us / 1e6 % 60
		frac := us % 1e6
		t := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, s)
		if frac != 0 {
			t += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

func plural(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func formatUUID(b []byte) string {
	if len(b) != 16 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pgType names an engine type the way Postgres would.
func pgType(t string) string {
	switch {
	case t == "JSON":
		return "jsonb"
	case t == "VARCHAR":
		return "text"
	case t == "BOOLEAN":
		return "boolean"
	case t == "BIGINT" || t == "INTEGER" || t == "SMALLINT" || t == "TINYINT" || t == "UBIGINT" || t == "UINTEGER" || t == "USMALLINT" || t == "UTINYINT":
		return "bigint"
	case t == "HUGEINT" || t == "UHUGEINT" || strings.HasPrefix(t, "DECIMAL"):
		return "numeric"
	case t == "DOUBLE" || t == "FLOAT":
		return "double precision"
	case t == "TIMESTAMP WITH TIME ZONE":
		return "timestamptz"
	case strings.HasPrefix(t, "TIMESTAMP"):
		return "timestamp"
	case t == "DATE":
		return "date"
	case t == "TIME":
		return "time"
	case t == "INTERVAL":
		return "interval"
	case t == "UUID":
		return "uuid"
	case t == "BLOB":
		return "bytea"
	case strings.HasSuffix(t, "[]"):
		return pgType(strings.TrimSuffix(t, "[]")) + "[]"
	case strings.HasPrefix(t, "STRUCT") || strings.HasPrefix(t, "MAP"):
		return "jsonb"
	case t == `"NULL"` || t == "NULL":
		return "text"
	}
	return strings.ToLower(t)
}

// assign stores src into the destination pointer dest.
func assign(dest, src any) error {
	switch d := dest.(type) {
	case *any:
		*d = src
		return nil
	case sql.Scanner:
		return d.Scan(src)
	case *json.RawMessage:
		if src == nil {
			*d = nil
			return nil
		}
		b, err := json.Marshal(jsonable(src))
		*d = b
		return err
	}
	dv := reflect.ValueOf(dest)
	if dv.Kind() != reflect.Pointer || dv.IsNil() {
		return fmt.Errorf("destination %T is not a non-nil pointer", dest)
	}
	target := dv.Elem()
	if src == nil {
		switch target.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			target.Set(reflect.Zero(target.Type()))
			return nil
		}
		return fmt.Errorf("NULL cannot be stored in %s (use a pointer)", target.Type())
	}
	if target.Kind() == reflect.Pointer {
		p := reflect.New(target.Type().Elem())
		if err := assign(p.Interface(), src); err != nil {
			return err
		}
		target.Set(p)
		return nil
	}
	sv := reflect.ValueOf(src)
	switch {
	case sv.Type().AssignableTo(target.Type()):
		target.Set(sv)
	case target.Kind() == reflect.String:
		switch s := src.(type) {
		case time.Time:
			target.SetString(s.Format(time.RFC3339Nano))
		case map[string]any, []any:
			b, err := json.Marshal(s)
			if err != nil {
				return err
			}
			target.SetString(string(b))
		default:
			target.SetString(fmt.Sprint(src))
		}
	case sv.CanConvert(target.Type()) && isNumber(sv.Kind()) && isNumber(target.Kind()):
		target.Set(sv.Convert(target.Type()))
	case target.Type() == reflect.TypeOf([]byte(nil)):
		b, err := json.Marshal(jsonable(src))
		if err != nil {
			return err
		}
		if s, ok := src.(string); ok {
			b = []byte(s)
		}
		target.SetBytes(b)
	default:
		return fmt.Errorf("cannot store %T in %s", src, target.Type())
	}
	return nil
}

func isNumber(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

// jsonable returns src in a form encoding/json renders the way Postgres prints jsonb.
func jsonable(src any) any {
	if t, ok := src.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return src
}
