package pgwire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/spoutdev/spout/query"
)

// column is one result column as the client sees it.
type column struct {
	name string
	oid  uint32
}

// result is a running statement's rows.
type result interface {
	columns() []column
	// next returns the next row, or nil at the end; an error ends the result.
	next() ([]any, error)
	close()
}

// statement is a prepared statement of the extended protocol (or the one statement of a
// simple query).
type statement struct {
	query     string // the Parse message's text, which error positions count in
	st        *stmt
	paramOIDs []uint32
	cols      []column // nil until described
	described bool
}

// portal is a bound statement.
type portal struct {
	stmt          *statement
	sql           string // the text with parameters written in
	subs          []substitution
	resultFormats []int16
	res           result // open while the portal is suspended
	ctx           context.Context
	rows          int64
	cancelDone    func()
}

// simpleQuery runs every statement of a Query message in turn, stopping at the first
// error.
func (ss *session) simpleQuery(text string) {
	stmts := split(text)
	for _, st := range stmts {
		if st.kind == kindEmpty {
			if len(stmts) == 1 {
				ss.be.Send(&pgproto3.EmptyQueryResponse{})
			}
			continue
		}
		if st.nParams > 0 {
			ss.sendError(&pgError{code: "42P02", msg: fmt.Sprintf("there is no parameter $%d (the simple query protocol has no parameters)", st.params[0].n), pos: charPosition(text, st.offset+st.params[0].start+1)}, "", 0)
			return
		}
		p := &portal{stmt: &statement{st: st}, sql: st.text}
		if err := ss.run(p, 0, true); err != nil {
			ss.sendError(ss.locate(err, text, p), "", 0)
			if ss.tx == 'T' {
				ss.tx = 'E'
			}
			return
		}
	}
}

// run executes a portal and sends its rows (up to maxRows when > 0, then
// PortalSuspended). describe sends the RowDescription first, as the simple protocol does.
func (ss *session) run(p *portal, maxRows int64, describe bool) error {
	st := p.stmt.st
	if ss.tx == 'E' && !(st.kind == kindNoop && st.tx == 'I') {
		return &pgError{code: "25P02", msg: "current transaction is aborted, commands ignored until end of transaction block"}
	}
	if p.res == nil {
		switch st.kind {
		case kindRefused:
			return st.err
		case kindNoop:
			if st.tx != 0 {
				ss.tx = st.tx
			}
			ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(st.tag)})
			return nil
		case kindSet:
			if err := ss.applySet(st); err != nil {
				return err
			}
			ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(st.tag)})
			return nil
		case kindEmpty:
			ss.be.Send(&pgproto3.EmptyQueryResponse{})
			return nil
		}
		ctx, done := ss.begin()
		res, err := ss.open(ctx, st, p.sql)
		if err != nil {
			done()
			return ss.queryError(ctx, err)
		}
		p.res, p.ctx, p.cancelDone = res, ctx, done
		if describe {
			ss.be.Send(rowDescription(res.columns(), nil))
		}
	}
	cols := p.res.columns()
	formats := p.resultFormats
	for maxRows <= 0 || p.rows < maxRows {
		row, err := p.res.next()
		if err != nil {
			err = ss.queryError(p.ctx, err)
			ss.finish(p)
			return err
		}
		if row == nil {
			tag := "SELECT " + strconv.FormatInt(p.rows, 10)
			if st.kind == kindShow {
				tag = "SHOW"
			}
			ss.finish(p)
			ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
			return nil
		}
		vals := make([][]byte, len(row))
		for i, v := range row {
			b, err := encode(ss.types, cols[i].oid, formatOf(formats, i), v)
			if err != nil {
				ss.finish(p)
				return &pgError{code: "XX000", msg: fmt.Sprintf("column %s: %v", cols[i].name, err)}
			}
			vals[i] = b
		}
		ss.be.Send(&pgproto3.DataRow{Values: vals})
		p.rows++
		// Rows go out in batches; a client that has gone away shows here, and its query
		// stops instead of running to the end.
		if p.rows%256 == 0 {
			if err := ss.be.Flush(); err != nil {
				ss.finish(p)
				return fmt.Errorf("sending rows: %w", err)
			}
		}
	}
	ss.be.Send(&pgproto3.PortalSuspended{})
	return nil
}

// queryError reports why a query stopped: the cancel cause (user request, statement
// timeout, shutdown) when its context was cancelled, else err.
func (ss *session) queryError(ctx context.Context, err error) error {
	if ctx != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
	}
	var pe *pgError
	if errors.As(err, &pe) {
		return err
	}
	for _, c := range []*pgError{errCanceled, errTimeout, errShutdown} {
		if strings.Contains(err.Error(), c.msg) {
			return c
		}
	}
	return err
}

func (ss *session) finish(p *portal) {
	if p.res != nil {
		p.res.close()
		p.res = nil
	}
	if p.cancelDone != nil {
		p.cancelDone()
		p.cancelDone = nil
	}
}

func formatOf(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return pgtype.TextFormatCode
	case 1:
		return formats[0]
	}
	if i < len(formats) {
		return formats[i]
	}
	return pgtype.TextFormatCode
}

func rowDescription(cols []column, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{}
	for i, c := range cols {
		size := int16(-1)
		switch c.oid {
		case pgtype.Int8OID, pgtype.Float8OID, pgtype.TimestamptzOID, pgtype.TimestampOID:
			size = 8
		case pgtype.BoolOID:
			size = 1
		case pgtype.DateOID, pgtype.Int4OID:
			size = 4
		}
		rd.Fields = append(rd.Fields, pgproto3.FieldDescription{
			Name: []byte(c.name), DataTypeOID: c.oid, DataTypeSize: size, TypeModifier: -1, Format: formatOf(formats, i),
		})
	}
	return rd
}

// open starts a statement that returns rows.
func (ss *session) open(ctx context.Context, st *stmt, text string) (result, error) {
	switch st.kind {
	case kindShow:
		return ss.show(st.name)
	case kindCatalog:
		return ss.catalogQuery(ctx, text)
	}
	rows, err := ss.srv.eng.Query(ctx, text)
	if err != nil {
		return nil, err
	}
	return newEngineResult(rows), nil
}

// describeColumns finds a statement's result columns without running it.
func (ss *session) describeColumns(st *stmt, text string) ([]column, error) {
	switch st.kind {
	case kindShow:
		return []column{{name: st.name, oid: pgtype.TextOID}}, nil
	case kindCatalog:
		ctx, done := ss.begin()
		defer done()
		res, err := ss.catalogQuery(ctx, text)
		if err != nil {
			return nil, err
		}
		defer res.close()
		return res.columns(), nil
	case kindEngine:
		ctx, done := ss.begin()
		defer done()
		plan, err := ss.srv.eng.Plan(ctx, text)
		if err != nil {
			return nil, ss.queryError(ctx, err)
		}
		return engineColumns(plan.Columns), nil
	}
	return nil, nil
}

func engineColumns(cols []query.Column) []column {
	out := make([]column, len(cols))
	for i, c := range cols {
		out[i] = column{name: c.Name, oid: resultOID(c.Type)}
	}
	return out
}

// engineResult streams a query.Rows.
type engineResult struct {
	rows *query.Rows
	cols []column
}

func newEngineResult(rows *query.Rows) *engineResult {
	return &engineResult{rows: rows, cols: engineColumns(rows.Columns())}
}

func (r *engineResult) columns() []column { return r.cols }

func (r *engineResult) next() ([]any, error) {
	if !r.rows.Next() {
		return nil, r.rows.Err()
	}
	return r.rows.Values()
}

func (r *engineResult) close() { r.rows.Close() }

// staticResult is rows the session computed itself (SHOW).
type staticResult struct {
	cols []column
	rows [][]any
}

func (r *staticResult) columns() []column { return r.cols }

func (r *staticResult) next() ([]any, error) {
	if len(r.rows) == 0 {
		return nil, nil
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

func (r *staticResult) close() {}

func (ss *session) show(name string) (result, error) {
	if name == "all" {
		res := &staticResult{cols: []column{{"name", pgtype.TextOID}, {"setting", pgtype.TextOID}, {"description", pgtype.TextOID}}}
		for _, k := range slices.Sorted(maps.Keys(ss.settings.vals)) {
			res.rows = append(res.rows, []any{k, ss.settings.vals[k], ""})
		}
		return res, nil
	}
	v, ok := ss.settings.vals[name]
	if !ok {
		return nil, &pgError{code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter %q", name)}
	}
	return &staticResult{cols: []column{{name, pgtype.TextOID}}, rows: [][]any{{v}}}, nil
}

func (ss *session) applySet(st *stmt) error {
	if st.reset {
		def := newSettings(ss.srv, ss.user, nil)
		if st.name == "" || st.name == "all" {
			ss.settings = def
			return nil
		}
		return ss.settings.set(st.name, def.vals[st.name])
	}
	if st.name == "transaction_read_only" || st.name == "default_transaction_read_only" {
		if v := strings.ToLower(st.value); v == "off" || v == "false" || v == "0" {
			return &pgError{code: "25006", msg: "this server is read-only: " + st.name + " cannot be turned off"}
		}
	}
	return ss.settings.set(st.name, st.value)
}

// catalogResult streams a catalog query's rows.
type catalogResult struct {
	rows *sql.Rows
	cols []column
	dest []any
	ptrs []any
}

func (ss *session) catalogQuery(ctx context.Context, text string) (result, error) {
	si := sessionInfo{user: ss.user, database: ss.database, pid: ss.pid, settings: ss.settings, searchPath: ss.searchPath()}
	rewritten, err := rewriteCatalog(text, si)
	if err != nil {
		return nil, err
	}
	ss.srv.logger.Debug("catalog query", "sql", text, "rewritten", rewritten)
	rows, err := ss.srv.catalog.db.QueryContext(ctx, rewritten)
	if err != nil {
		return nil, &pgError{code: sqlState(err.Error()), msg: "catalog: " + firstLine(err.Error())}
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, fmt.Errorf("reading catalog columns: %w", err)
	}
	r := &catalogResult{rows: rows}
	for _, t := range types {
		r.cols = append(r.cols, column{name: t.Name(), oid: duckOID(t.DatabaseTypeName())})
	}
	r.dest = make([]any, len(types))
	r.ptrs = make([]any, len(types))
	for i := range r.dest {
		r.ptrs[i] = &r.dest[i]
	}
	return r, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// duckOID is the OID a catalog column of DuckDB type t is sent as.
func duckOID(t string) uint32 {
	switch t {
	case "BIGINT", "UBIGINT", "HUGEINT":
		return pgtype.Int8OID
	case "INTEGER", "UINTEGER", "SMALLINT", "TINYINT", "USMALLINT", "UTINYINT":
		return pgtype.Int4OID
	case "BOOLEAN":
		return pgtype.BoolOID
	case "DOUBLE", "FLOAT":
		return pgtype.Float8OID
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return pgtype.TimestamptzOID
	}
	return pgtype.TextOID
}

func (r *catalogResult) columns() []column { return r.cols }

func (r *catalogResult) next() ([]any, error) {
	if !r.rows.Next() {
		return nil, r.rows.Err()
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, fmt.Errorf("reading a catalog row: %w", err)
	}
	out := make([]any, len(r.dest))
	for i, v := range r.dest {
		out[i] = catalogValue(v, r.cols[i].oid)
	}
	return out, nil
}

// catalogValue converts a DuckDB value to what encode takes for oid.
func catalogValue(v any, oid uint32) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		if oid == pgtype.Int4OID {
			return x
		}
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
	case []any:
		return arrayLiteral(x)
	}
	if oid == pgtype.Int4OID {
		if n, ok := v.(int64); ok {
			return int32(n)
		}
	}
	return v
}

func (r *catalogResult) close() { r.rows.Close() }

func (ss *session) searchPath() []string {
	var out []string
	for _, p := range strings.Split(ss.settings.get("search_path"), ",") {
		p = strings.Trim(strings.TrimSpace(p), `"`)
		if p != "" && p != "$user" && p != "public" {
			out = append(out, p)
		}
	}
	return out
}
