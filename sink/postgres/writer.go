package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spoutdev/spout/sink"
)

// Open begins the result's transaction: it takes the table's lock, creates or extends
// the table and starts a COPY that the Writes feed.
func (s *Sink) Open(ctx context.Context, info sink.ResultInfo) (sink.Writer, error) {
	table, err := render(s.table, info, s.name)
	if err != nil {
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	if err := s.checkColumns(info); err != nil {
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, classify(nil, s.errorf("connect: %w", err))
	}
	w := &writer{s: s, info: info, table: table, conn: conn}
	if err := w.begin(ctx); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return nil, err
	}
	return w, nil
}

func (s *Sink) checkColumns(info sink.ResultInfo) error {
	if len(info.Columns) == 0 {
		return errors.New("result has no columns")
	}
	seen := map[string]bool{RunIDColumn: true, CollectedAtColumn: true, ShardColumn: true}
	for _, c := range info.Columns {
		if seen[c.Name] {
			return fmt.Errorf("column %q appears twice or clashes with a column the sink adds", c.Name)
		}
		seen[c.Name] = true
		if _, err := pgType(c.Type); err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
	}
	for _, k := range s.cfg.Key {
		if !seen[k] || k == RunIDColumn || k == CollectedAtColumn || k == ShardColumn {
			return fmt.Errorf("key column %q is not in the result of query %q", k, info.Query)
		}
	}
	return nil
}

type writer struct {
	s     *Sink
	info  sink.ResultInfo
	table pgx.Identifier
	conn  *pgxpool.Conn
	tx    pgx.Tx

	// The COPY runs in its own goroutine, pulling batches from in; it acks each batch
	// once encoded, so Write returns when the batch is on its way and a failed
	// connection shows up at the next Write.
	in       chan []sink.Row
	inClosed bool
	ack      chan struct{}
	done     chan struct{} // closed when the COPY returns
	copyErr  error         // set before done is closed
	cancel   context.CancelFunc

	err      error // sticky failure
	finished bool
}

func (w *writer) begin(ctx context.Context) error {
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return w.fail(err, "begin")
	}
	w.tx = tx
	// One result at a time per table: concurrent replaces would otherwise both
	// survive, and concurrent CREATE TABLEs would collide.
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtextextended('spout:' || $1, 0))", w.table.Sanitize()); err != nil {
		return w.fail(err, "lock table")
	}
	types, err := w.ensureTable(ctx)
	if err != nil {
		return err
	}
	target := w.table
	switch w.s.cfg.Mode {
	case Replace:
		if err := w.deletePrevious(ctx); err != nil {
			return err
		}
	case Upsert:
		if err := w.ensureKeyIndex(ctx); err != nil {
			return err
		}
		target = pgx.Identifier{"_spout_stage"}
		if _, err := tx.Exec(ctx, "create temporary table _spout_stage (like "+w.table.Sanitize()+" including defaults) on commit drop"); err != nil {
			return w.fail(err, "create staging table")
		}
	}
	w.startCopy(target, types)
	return nil
}

// ensureTable creates the table, or adds the result's columns it lacks, and returns
// the table's type for each result column.
func (w *writer) ensureTable(ctx context.Context) ([]string, error) {
	tx := w.tx
	if len(w.table) == 2 {
		var exists bool
		if err := tx.QueryRow(ctx, "select exists (select from pg_namespace where nspname = $1)", w.table[0]).Scan(&exists); err != nil {
			return nil, w.fail(err, "look up schema")
		}
		if !exists {
			if _, err := tx.Exec(ctx, "create schema "+pgx.Identifier{w.table[0]}.Sanitize()); err != nil {
				return nil, w.fail(err, "create schema")
			}
		}
	}
	rows, err := tx.Query(ctx, `select a.attname, format_type(a.atttypid, a.atttypmod)
		from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`, w.table.Sanitize())
	if err != nil {
		return nil, w.fail(err, "look up table")
	}
	existing := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, w.fail(err, "look up table")
		}
		existing[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, w.fail(err, "look up table")
	}

	if len(existing) == 0 {
		defs := []string{RunIDColumn + " text not null", CollectedAtColumn + " timestamptz not null"}
		if w.info.Shard.Sharded() {
			defs = append(defs, ShardColumn+" text")
		}
		for _, c := range w.info.Columns {
			t, _ := pgType(c.Type)
			defs = append(defs, pgx.Identifier{c.Name}.Sanitize()+" "+t)
		}
		if _, err := tx.Exec(ctx, "create table "+w.table.Sanitize()+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return nil, w.fail(err, "create table")
		}
	} else {
		var adds []string
		added := []sink.Column{{Name: RunIDColumn, Type: sink.TypeText}, {Name: CollectedAtColumn, Type: sink.TypeTimestamptz}}
		if w.info.Shard.Sharded() {
			added = append(added, sink.Column{Name: ShardColumn, Type: sink.TypeText})
		}
		for _, c := range append(added, w.info.Columns...) {
			if _, ok := existing[c.Name]; !ok {
				t, _ := pgType(c.Type)
				adds = append(adds, "add column "+pgx.Identifier{c.Name}.Sanitize()+" "+t)
			}
		}
		if len(adds) > 0 {
			if _, err := tx.Exec(ctx, "alter table "+w.table.Sanitize()+" "+strings.Join(adds, ", ")); err != nil {
				return nil, w.fail(err, "add columns")
			}
		}
	}
	types := make([]string, len(w.info.Columns))
	for i, c := range w.info.Columns {
		if t, ok := existing[c.Name]; ok {
			types[i] = t
		} else {
			types[i], _ = pgType(c.Type)
		}
	}
	return types, nil
}

// ensureKeyIndex makes sure a unique index covers exactly the key columns, as
// ON CONFLICT needs.
func (w *writer) ensureKeyIndex(ctx context.Context) error {
	keys := slices.Sorted(slices.Values(w.s.cfg.Key))
	var exists bool
	err := w.tx.QueryRow(ctx, `select exists (
		select from pg_index i
		where i.indrelid = to_regclass($1) and i.indisunique and i.indpred is null
		and (select array_agg(a.attname::text order by a.attname::text) from pg_attribute a
		     where a.attrelid = i.indrelid and a.attnum = any(i.indkey)) = $2::text[]
		and i.indnatts = cardinality($2::text[]))`, w.table.Sanitize(), keys).Scan(&exists)
	if err != nil {
		return w.fail(err, "look up key index")
	}
	if exists {
		return nil
	}
	name := w.table[len(w.table)-1]
	if len(name) > 50 {
		name = name[:50]
	}
	_, err = w.tx.Exec(ctx, "create unique index "+pgx.Identifier{name + "_spout_key"}.Sanitize()+
		" on "+w.table.Sanitize()+" ("+quoteList(w.s.cfg.Key)+")")
	if err != nil {
		return w.fail(err, "create unique index on key ("+strings.Join(w.s.cfg.Key, ", ")+")")
	}
	return nil
}

// deletePrevious removes the rows the result replaces: all of them, or with a sharded
// result the rows of its own shard and those no shard of the current layout owns (an
// unsharded run's, or a run with another shard count's). Other shards' rows stay, so
// the table ends up holding exactly what one unsharded run would have delivered.
func (w *writer) deletePrevious(ctx context.Context) error {
	sql, args := "delete from "+w.table.Sanitize(), []any{}
	if sh := w.info.Shard; sh.Sharded() {
		sql += " where " + ShardColumn + " is null or " + ShardColumn + " = $1 or split_part(" + ShardColumn + ", '/', 2) <> $2"
		args = []any{sh.String(), strconv.Itoa(sh.Count)}
	}
	if _, err := w.tx.Exec(ctx, sql, args...); err != nil {
		return w.fail(err, "delete previous result")
	}
	return nil
}

// fixedColumns are the columns the sink adds to every row, and their values.
func (w *writer) fixedColumns() ([]string, []any) {
	cols, vals := []string{RunIDColumn, CollectedAtColumn}, []any{w.info.RunID, w.info.CollectedAt}
	if w.info.Shard.Sharded() {
		cols, vals = append(cols, ShardColumn), append(vals, w.info.Shard.String())
	}
	return cols, vals
}

func (w *writer) startCopy(target pgx.Identifier, types []string) {
	cols, fixed := w.fixedColumns()
	conv := make([]func(any) any, len(w.info.Columns))
	for i, c := range w.info.Columns {
		cols = append(cols, c.Name)
		conv[i] = converter(types[i])
	}
	w.in = make(chan []sink.Row)
	w.ack = make(chan struct{}, 1)
	w.done = make(chan struct{})
	// The COPY lives as long as the writer, not as long as the Open call.
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	src := &source{ctx: ctx, in: w.in, ack: w.ack, conv: conv, vals: make([]any, len(cols)), fixed: len(fixed), i: -1}
	copy(src.vals, fixed)
	go func() {
		defer close(w.done)
		_, w.copyErr = w.tx.Conn().CopyFrom(ctx, target, cols, src)
	}()
}

// errFinished reports a Write or Commit after Commit or Abort.
var errFinished = errors.New("result already committed or aborted")

func (w *writer) Write(ctx context.Context, rows []sink.Row) error {
	if w.err != nil {
		return w.err
	}
	if w.finished || w.inClosed {
		return w.s.errorf("%w", errFinished)
	}
	if len(rows) == 0 {
		return nil
	}
	select {
	case w.in <- rows:
	case <-w.done:
		return w.fail(w.copyErr, "copy rows")
	case <-ctx.Done():
		return w.fail(ctx.Err(), "copy rows")
	}
	select {
	case <-w.ack:
		return nil
	case <-w.done:
		return w.fail(w.copyErr, "copy rows")
	case <-ctx.Done():
		return w.fail(ctx.Err(), "copy rows")
	}
}

func (w *writer) Commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	if w.finished || w.inClosed {
		return w.s.errorf("%w", errFinished)
	}
	close(w.in)
	w.inClosed = true
	select {
	case <-w.done:
	case <-ctx.Done():
		return w.fail(ctx.Err(), "copy rows")
	}
	if w.copyErr != nil {
		return w.fail(w.copyErr, "copy rows")
	}
	if w.s.cfg.Mode == Upsert {
		if err := w.merge(ctx); err != nil {
			return err
		}
	}
	if err := w.tx.Commit(ctx); err != nil {
		return w.fail(err, "commit")
	}
	w.release()
	return nil
}

// merge moves the staged rows into the table. Should a key repeat within the result,
// the row copied last wins: DISTINCT ON keeps the first row of each key in the ORDER
// BY, and a fresh staging table's ctid follows insertion order.
func (w *writer) merge(ctx context.Context) error {
	cols, _ := w.fixedColumns()
	var sets []string
	for _, c := range w.info.Columns {
		cols = append(cols, c.Name)
	}
	for _, c := range cols {
		if !slices.Contains(w.s.cfg.Key, c) {
			q := pgx.Identifier{c}.Sanitize()
			sets = append(sets, q+" = excluded."+q)
		}
	}
	keys := quoteList(w.s.cfg.Key)
	sql := "insert into " + w.table.Sanitize() + " (" + quoteList(cols) + ")" +
		" select distinct on (" + keys + ") " + quoteList(cols) + " from _spout_stage" +
		" order by " + keys + ", ctid desc" +
		" on conflict (" + keys + ") do update set " + strings.Join(sets, ", ")
	if _, err := w.tx.Exec(ctx, sql); err != nil {
		return w.fail(err, "merge rows")
	}
	return nil
}

func (w *writer) Abort(ctx context.Context) error {
	if w.finished {
		return nil
	}
	if w.cancel != nil {
		w.cancel()
		if !w.inClosed {
			close(w.in)
			w.inClosed = true
		}
		<-w.done
	}
	if w.tx != nil {
		// After a broken connection or a cancelled COPY this fails; the pool then
		// discards the connection, and the server has rolled back anyway.
		_ = w.tx.Rollback(ctx)
	}
	w.release()
	return nil
}

func (w *writer) release() {
	if w.finished {
		return
	}
	w.finished = true
	if w.cancel != nil {
		w.cancel()
	}
	w.conn.Release()
}

// fail records err as the writer's failure, stops the COPY, and returns it wrapped
// with what was being done and marked permanent unless worth retrying.
func (w *writer) fail(err error, doing string) error {
	if w.err != nil {
		return w.err
	}
	if err == nil {
		err = errors.New("copy ended early")
	}
	if w.cancel != nil {
		w.cancel()
	}
	w.err = classify(w.conn.Conn(), w.s.errorf("table %s: %s: %w", w.table.Sanitize(), doing, err))
	return w.err
}

// classify marks err permanent unless retrying could help: a lost connection, a
// server shutting down or out of resources, a serialization failure or deadlock.
func classify(conn *pgx.Conn, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch c := pgErr.Code; {
		case strings.HasPrefix(c, "08"), // connection exception
			strings.HasPrefix(c, "53"),  // insufficient resources
			strings.HasPrefix(c, "57P"), // admin shutdown, crash shutdown, cannot connect now
			c == "40001", c == "40P01":  // serialization failure, deadlock
			return err
		}
		return sink.Permanent(err)
	}
	// Not from the server: if the connection still stands, the client refused the
	// data (a value pgx cannot encode), and it would again.
	if conn != nil && !conn.IsClosed() {
		return sink.Permanent(err)
	}
	return err
}

// source feeds the COPY from the batches Write sends.
type source struct {
	ctx   context.Context
	in    <-chan []sink.Row
	ack   chan<- struct{}
	batch []sink.Row
	i     int
	conv  []func(any) any
	vals  []any // the fixed columns (run id, collected at, shard), then the row; reused for every row
	fixed int   // how many fixed columns vals starts with
	err   error
}

func (s *source) Next() bool {
	s.i++
	for s.i >= len(s.batch) {
		if s.batch != nil {
			s.batch = nil
			s.ack <- struct{}{}
		}
		select {
		case b, ok := <-s.in:
			if !ok {
				return false
			}
			s.batch, s.i = b, 0
		case <-s.ctx.Done():
			s.err = s.ctx.Err()
			return false
		}
	}
	return true
}

// Values returns the current row. pgx encodes it before calling Next again, so the
// same slice serves every row.
func (s *source) Values() ([]any, error) {
	row := s.batch[s.i]
	if len(row) != len(s.conv) {
		return nil, fmt.Errorf("row has %d values for %d columns", len(row), len(s.conv))
	}
	for i, v := range row {
		s.vals[s.fixed+i] = s.conv[i](v)
	}
	return s.vals, nil
}

func (s *source) Err() error { return s.err }

// converter adapts values to the table column's actual type, which differs from the
// result's when an existing table was made by hand or by an older query.
func converter(pgType string) func(any) any {
	switch pgType {
	case "text", "character varying":
		return func(v any) any {
			if v == nil {
				return nil
			}
			if s, ok := v.(string); ok {
				return s
			}
			s, _ := sink.Text(v)
			return s
		}
	case "jsonb", "json":
		return func(v any) any {
			switch v := v.(type) {
			case nil, json.RawMessage:
				return v
			default:
				return json.RawMessage(sink.AppendJSONValue(nil, v))
			}
		}
	case "double precision":
		return func(v any) any {
			if n, ok := v.(int64); ok {
				return float64(n)
			}
			return v
		}
	case "timestamp with time zone":
		return func(v any) any {
			if s, ok := v.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return t
				}
			}
			return v
		}
	}
	return func(v any) any { return v }
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}
