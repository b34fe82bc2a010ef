package query

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/spoutdev/spout/query/internal/rewrite"
)

// ScanCache shares plugin scans between the queries of a batch, such as one scheduled
// run: a connection scan (one table of one concrete connection, with the same quals) that
// already ran, or is still running, serves every later identical scan from its own rows
// instead of calling the API again. Queries passed the cache with WithScanCache use it.
//
// What is served from what:
//   - a scan asking for the same columns, or a subset of them, as an earlier one;
//   - a scan with a pushed-down LIMIT, from a scan without one or with a limit at least
//     as large, never the reverse: a limited scan's rows are not the whole table;
//   - a scan whose quals come from a join or a subquery, from one that received the same
//     set of values (each distinct set is a distinct scan);
//   - a scan whose quals only filter (an = qual on a column that is not a key column,
//     which the plugin SDK may use to skip regions), from one without them, since the SQL
//     engine applies the whole WHERE again; quals that reach no API (score > 3 on a
//     column that is not a key column) make no difference at all;
//   - a scan still running: the second query reads its rows as they arrive, and the scan
//     goes on as long as one of its readers does.
//
// Which query reaches a scan first is often a matter of timing; Expect announces the
// queries to come, so that the first scan asks for what all of them need.
//
// A scan that fails or is cancelled is not kept: the queries reading it see its failure
// (a member connection of an aggregator failing is reported for each of them), and later
// queries scan again. Rows are never expired, which is why a cache belongs to a batch of
// queries that may see the same data, not to a long-lived process.
//
// Rows are held in memory up to ScanCacheOptions.MemoryBytes over all scans, and beyond
// that written to files in a private directory that Close removes. Its scans never use
// the plugins' own query cache (UseCache is ignored for them). A cache is safe for concurrent use and
// belongs to the engine that made it.
type ScanCache struct {
	eng     *Engine
	memMax  int64
	dir     string
	ctx     context.Context // the scans' context; Close cancels it
	stop    context.CancelFunc
	wg      sync.WaitGroup
	memUsed atomic.Int64

	mu      sync.Mutex
	entries map[string][]*cacheEntry // by connection, table and key-column quals
	// expected is what Expect announced, by connection as queries name it, table and
	// key-column quals
	expected map[string]*expectation
	spill    string // the spill directory, made on first use
	closed   bool
	stats    ScanCacheStats
}

// ScanCacheOptions configure a ScanCache. The zero value is usable.
type ScanCacheOptions struct {
	// MemoryBytes bounds the rows held in memory, over every cached scan. Rows past it
	// are written to files. Default DefaultScanCacheMemory.
	MemoryBytes int64
	// Dir is where the spill directory is made; default os.TempDir().
	Dir string
}

// DefaultScanCacheMemory is the memory a ScanCache keeps rows in when its options leave
// MemoryBytes 0.
const DefaultScanCacheMemory = 64 << 20

// ScanCacheStats count what a ScanCache did. A scan here is one connection's part of a
// query's table scan: an aggregator over three connections makes three.
type ScanCacheStats struct {
	PluginScans  int64 // scans made through the plugins
	CachedScans  int64 // scans served from an earlier or running identical scan
	MemoryBytes  int64 // rows held in memory now
	SpilledBytes int64 // rows written to spill files
}

// NewScanCache makes a cache for the queries of one batch on e. Close it when the batch
// is done: that stops its scans still running and removes its files.
func (e *Engine) NewScanCache(o ScanCacheOptions) *ScanCache {
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = DefaultScanCacheMemory
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &ScanCache{eng: e, memMax: o.MemoryBytes, dir: o.Dir, ctx: ctx, stop: stop, entries: map[string][]*cacheEntry{}, expected: map[string]*expectation{}}
}

// WithScanCache serves the query's plugin scans from c, and keeps its scans there for
// the queries after it. c must come from the engine that runs the query.
func WithScanCache(c *ScanCache) QueryOption { return func(o *queryOptions) { o.scanCache = c } }

// Stats reports what the cache has done so far.
func (c *ScanCache) Stats() ScanCacheStats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	s.MemoryBytes = c.memUsed.Load()
	return s
}

// Close stops the scans still running (their readers get ErrClosed), forgets every row
// and removes the spill files. It is safe to call more than once.
func (c *ScanCache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var all []*cacheEntry
	for _, es := range c.entries {
		all = append(all, es...)
	}
	c.entries = nil
	spill := c.spill
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	var errs []error
	for _, e := range all {
		errs = append(errs, e.release())
	}
	if spill != "" {
		if err := os.RemoveAll(spill); err != nil {
			errs = append(errs, fmt.Errorf("removing the scan cache's spill files: %w", err))
		}
	}
	c.memUsed.Store(0)
	return errors.Join(errs...)
}

// connScan is what a table scan asks of one concrete connection.
type connScan struct {
	target  string
	columns []string
	quals   map[string]*proto.Quals
	limit   int64 // -1: none
}

// scanQuals splits a scan's quals by what they do to the rows the plugin returns. Quals
// on the table's key columns reach the API: key holds them, canonically ordered (an IN
// list from a join arrives in whatever order the other table's rows did), and scans
// differing in them are different scans. An "=" qual on another column may pick the
// plugin SDK's matrix items (region = 'us-east-1'): a filter, which only removes rows, so
// a scan without it holds every row of one with it (the SQL engine applies the whole
// WHERE again). Any other qual (score > 3) reaches no API and is ignored.
func scanQuals(schema *proto.TableSchema, quals map[string]*proto.Quals) (key string, filters []string) {
	keyCols := map[string]bool{}
	for _, k := range schema.GetListCallKeyColumnList() {
		keyCols[k.Name] = true
	}
	for _, k := range schema.GetGetCallKeyColumnList() {
		keyCols[k.Name] = true
	}
	var b strings.Builder
	for _, col := range rewrite.SortedQualColumns(quals) {
		var qs []string
		for _, q := range quals[col].GetQuals() {
			text := qualText(q)
			switch {
			case keyCols[col]:
				qs = append(qs, text)
			case q.GetStringValue() == "=":
				filters = append(filters, text)
			}
		}
		sort.Strings(qs)
		for _, q := range qs {
			b.WriteByte(0)
			b.WriteString(q)
		}
	}
	sort.Strings(filters)
	return b.String(), slices.Compact(filters)
}

func qualText(q *proto.Qual) string {
	return q.FieldName + " " + q.GetStringValue() + " " + canonicalValue(q.Value)
}

// withoutFilters returns quals without the filters not in keep.
func withoutFilters(quals map[string]*proto.Quals, filters, keep []string) map[string]*proto.Quals {
	drop := map[string]bool{}
	for _, f := range filters {
		if !slices.Contains(keep, f) {
			drop[f] = true
		}
	}
	if len(drop) == 0 {
		return quals
	}
	out := make(map[string]*proto.Quals, len(quals))
	for col, qs := range quals {
		var kept []*proto.Qual
		for _, q := range qs.GetQuals() {
			if !drop[qualText(q)] {
				kept = append(kept, q)
			}
		}
		if len(kept) > 0 {
			out[col] = &proto.Quals{Quals: kept}
		}
	}
	return out
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func canonicalValue(v *proto.QualValue) string {
	if v == nil {
		return ""
	}
	if l, ok := v.Value.(*proto.QualValue_ListValue); ok {
		vals := make([]string, 0, len(l.ListValue.GetValues()))
		for _, item := range l.ListValue.GetValues() {
			vals = append(vals, canonicalValue(item))
		}
		sort.Strings(vals)
		return "(" + strings.Join(vals, ", ") + ")"
	}
	// The type goes in too: 1 and '1' are different quals.
	return fmt.Sprintf("%T:%s", v.Value, rewrite.FormatQualValue(v))
}

// acquire returns a reader of the rows req asks for: from an entry that can serve it, or
// from a new entry whose scan it starts. started reports the latter.
func (c *ScanCache) acquire(spec *scanSpec, req connScan) (r *entryReader, started bool, err error) {
	qkey, filters := scanQuals(spec.Schema, req.quals)
	key := req.target + "\x00" + spec.Table + qkey
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, false, ErrClosed
	}
	for _, e := range c.entries[key] {
		if e.serves(req, filters) {
			e.readers++
			c.stats.CachedScans++
			return &entryReader{e: e, limit: req.limit}, false, nil
		}
	}
	// Scan for the queries expected to follow as well, so that they are served.
	if exp := c.expected[spec.conn.name+"\x00"+spec.Table+qkey]; exp != nil && req.limit < 0 {
		wide := slices.Clone(req.columns)
		for _, col := range exp.columns {
			if !slices.Contains(wide, col) {
				wide = append(wide, col)
			}
		}
		var keep []string
		for _, f := range filters {
			if slices.Contains(exp.filters, f) {
				keep = append(keep, f)
			}
		}
		req = connScan{target: req.target, columns: wide, quals: withoutFilters(req.quals, filters, keep), limit: -1}
		filters = keep
	}
	ctx, cancel := context.WithCancel(c.ctx)
	e := &cacheEntry{c: c, key: key, columns: req.columns, filters: filters, limit: req.limit,
		readers: 1, cancel: cancel, signal: make(chan struct{})}
	c.entries[key] = append(c.entries[key], e)
	c.stats.PluginScans++
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		err := spec.call(ctx, req, e.add)
		if e.writeErr != nil {
			err = e.writeErr
		}
		switch {
		case c.ctx.Err() != nil:
			err = fmt.Errorf("%s.%s: %w (the scan cache was closed)", req.target, spec.Table, ErrClosed)
		case ctx.Err() != nil:
			err = ctx.Err() // every reader went away
		}
		e.finish(err)
	}()
	return &entryReader{e: e, limit: req.limit}, true, nil
}

// expectation is what the queries announced with Expect ask of one table scan: the
// columns they name, and the filters all of them have.
type expectation struct {
	columns []string
	filters []string
}

// Expect tells the cache that sqlText will run on it, so that an identical scan of an
// earlier query asks the plugin for what this one needs too and serves it: the columns
// the query names, and (for a scan without a pushed LIMIT) only the filters every
// expected query of that scan shares. Announcing every query of a batch before running
// any makes each distinct scan run once whichever query reaches it first. It calls no
// API. A column is named when it appears in the query's text as a word; scans pinned by
// a join or subquery are not widened.
func (c *ScanCache) Expect(ctx context.Context, sqlText string) error {
	p, err := c.eng.prepare(ctx, sqlText, nil)
	if err != nil {
		return err
	}
	defer c.eng.release(p.scans)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, spec := range p.scans {
		if len(spec.Params) > 0 {
			continue
		}
		qkey, filters := scanQuals(spec.Schema, spec.Quals)
		k := spec.conn.name + "\x00" + spec.Table + qkey
		exp := c.expected[k]
		if exp == nil {
			exp = &expectation{filters: filters}
			c.expected[k] = exp
		} else {
			exp.filters = slices.DeleteFunc(exp.filters, func(f string) bool { return !slices.Contains(filters, f) })
		}
		for _, col := range spec.Schema.Columns {
			if !slices.Contains(exp.columns, col.Name) && findIdent(sqlText, col.Name) >= 0 {
				exp.columns = append(exp.columns, col.Name)
			}
		}
	}
	return nil
}

// spillFile creates a file for one entry's rows.
func (c *ScanCache) spillFile() (*os.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.spill == "" {
		dir, err := os.MkdirTemp(c.dir, "spout-scancache-")
		if err != nil {
			return nil, fmt.Errorf("making the scan cache's spill directory: %w", err)
		}
		c.spill = dir
	}
	f, err := os.CreateTemp(c.spill, "scan-*.rows")
	if err != nil {
		return nil, fmt.Errorf("making a scan cache spill file: %w", err)
	}
	return f, nil
}

// drop forgets an entry that cannot serve anyone (failed, cancelled). c.mu is held.
func (c *ScanCache) drop(e *cacheEntry) {
	es := c.entries[e.key]
	if i := slices.Index(es, e); i >= 0 {
		c.entries[e.key] = slices.Delete(es, i, i+1)
		if len(c.entries[e.key]) == 0 {
			delete(c.entries, e.key)
		}
	}
}

// cacheEntry holds the rows of one connection scan: in memory, then (once the cache's
// memory is spent) in a spill file, as length-prefixed protobuf rows. Rows are only ever
// appended, so readers can follow a scan still running.
type cacheEntry struct {
	c       *ScanCache
	key     string
	columns []string
	filters []string // the filter quals the scan had (see scanQuals)
	limit   int64
	cancel  context.CancelFunc
	readers int  // guarded by c.mu
	dropped bool // guarded by c.mu

	// written by the scan's goroutine only
	writeErr error
	scratch  []byte

	mu      sync.Mutex
	mem     []byte
	file    *os.File
	fileLen int64
	rows    int64
	done    bool
	err     error
	gone    bool          // released: the rows are no more
	signal  chan struct{} // closed when rows arrive or the scan ends, if waiting
	waiting bool
}

// serves reports whether e's rows answer req, whose filters are given (the key is
// already the same): it has the columns, and no filter req lacks. A scan with fewer
// filters has more rows, which only serves a request without a limit; a limited request
// is served from a scan without a limit or with a larger one.
func (e *cacheEntry) serves(req connScan, filters []string) bool {
	if !subset(req.columns, e.columns) || !subset(e.filters, filters) {
		return false
	}
	if req.limit < 0 {
		return e.limit < 0
	}
	return len(e.filters) == len(filters) && (e.limit < 0 || req.limit <= e.limit)
}

// add appends one row; it is the plugin stream's send function.
func (e *cacheEntry) add(row *proto.Row) error {
	b, err := protobuf.Marshal(row)
	if err != nil {
		e.writeErr = fmt.Errorf("encoding a row for the scan cache: %w", err)
		return e.writeErr
	}
	rec := binary.AppendUvarint(e.scratch[:0], uint64(len(b)))
	rec = append(rec, b...)
	e.scratch = rec
	n := int64(len(rec))
	if e.file == nil {
		if e.c.memUsed.Add(n) <= e.c.memMax {
			e.mu.Lock()
			e.mem = append(e.mem, rec...)
			e.rows++
			e.notify()
			e.mu.Unlock()
			return nil
		}
		e.c.memUsed.Add(-n)
		f, err := e.c.spillFile()
		if err != nil {
			e.writeErr = err
			return err
		}
		e.mu.Lock()
		e.file = f
		e.mu.Unlock()
	}
	if _, err := e.file.WriteAt(rec, e.fileLen); err != nil {
		e.writeErr = fmt.Errorf("writing the scan cache's spill file: %w", err)
		return e.writeErr
	}
	e.c.mu.Lock()
	e.c.stats.SpilledBytes += n
	e.c.mu.Unlock()
	e.mu.Lock()
	e.fileLen += n
	e.rows++
	e.notify()
	e.mu.Unlock()
	return nil
}

// notify wakes the readers waiting for rows. e.mu is held.
func (e *cacheEntry) notify() {
	if e.waiting {
		close(e.signal)
		e.signal = make(chan struct{})
		e.waiting = false
	}
}

// finish marks the scan complete, or failed with err: a failed entry is dropped so the
// next identical scan asks the plugin again.
func (e *cacheEntry) finish(err error) {
	e.mu.Lock()
	e.done, e.err = true, err
	e.notify()
	e.mu.Unlock()
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	if err != nil || e.dropped {
		e.discard()
	}
}

// discard drops e from the cache and frees its rows once nobody reads them. c.mu is held,
// and the scan has finished.
func (e *cacheEntry) discard() {
	if !e.dropped {
		e.dropped = true
		e.c.drop(e)
	}
	if e.readers == 0 {
		e.release()
	}
}

// release frees e's rows.
func (e *cacheEntry) release() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gone = true
	e.c.memUsed.Add(-int64(len(e.mem)))
	e.mem = nil
	if e.file == nil {
		return nil
	}
	name := e.file.Name()
	err := e.file.Close()
	if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	e.file = nil
	return err
}

// entryReader reads one entry's rows from the start, for one connection scan.
type entryReader struct {
	e      *cacheEntry
	limit  int64 // rows to read at most; -1: all
	n      int64
	off    int64 // in the entry's rows: memory, then file
	buf    []byte
	bufOff int64 // file offset of buf[0]
	closed bool
}

// readAhead is how much of a spill file a reader reads at a time.
const readAhead = 64 << 10

// next returns the next row, nil at the end, or the scan's error. It waits for a scan
// still running.
func (r *entryReader) next(ctx context.Context) (*proto.Row, error) {
	if r.limit >= 0 && r.n >= r.limit {
		return nil, nil
	}
	e := r.e
	for {
		e.mu.Lock()
		if e.gone {
			e.mu.Unlock()
			return nil, fmt.Errorf("scan cache: %w", ErrClosed)
		}
		memLen := int64(len(e.mem))
		size := memLen + e.fileLen
		if r.off < size {
			mem, file := e.mem, e.file
			e.mu.Unlock()
			rec, err := r.record(mem, file, size)
			if err != nil {
				return nil, err
			}
			row := &proto.Row{}
			if err := protobuf.Unmarshal(rec, row); err != nil {
				return nil, fmt.Errorf("decoding a row of the scan cache: %w", err)
			}
			r.n++
			return row, nil
		}
		if e.done {
			err := e.err
			e.mu.Unlock()
			return nil, err
		}
		e.waiting = true
		signal := e.signal
		e.mu.Unlock()
		select {
		case <-signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// record returns the record at r.off and moves past it. Bytes before size are complete
// records: the writer publishes a record's bytes only once they are all written.
func (r *entryReader) record(mem []byte, file *os.File, size int64) ([]byte, error) {
	memLen := int64(len(mem))
	if r.off < memLen {
		l, k := binary.Uvarint(mem[r.off:])
		if k <= 0 || r.off+int64(k)+int64(l) > memLen {
			return nil, errors.New("scan cache: corrupt row in memory")
		}
		rec := mem[r.off+int64(k) : r.off+int64(k)+int64(l)]
		r.off += int64(k) + int64(l)
		return rec, nil
	}
	if file == nil {
		return nil, ErrClosed
	}
	off := r.off - memLen
	end := size - memLen
	rec, k := r.buffered(off)
	if rec == nil {
		want := min(end-off, readAhead)
		if l, k := binary.Uvarint(r.window(off)); k > 0 {
			want = max(want, int64(k)+int64(l))
		}
		if int64(cap(r.buf)) < want {
			r.buf = make([]byte, want)
		}
		r.buf = r.buf[:want]
		if _, err := file.ReadAt(r.buf, off); errors.Is(err, os.ErrClosed) {
			return nil, fmt.Errorf("scan cache: %w", ErrClosed)
		} else if err != nil {
			return nil, fmt.Errorf("reading the scan cache's spill file: %w", err)
		}
		r.bufOff = off
		if rec, k = r.buffered(off); rec == nil {
			return nil, errors.New("scan cache: corrupt row in spill file")
		}
	}
	r.off += int64(k + len(rec))
	return rec, nil
}

// window is what buf holds from file offset off on.
func (r *entryReader) window(off int64) []byte {
	if off < r.bufOff || off >= r.bufOff+int64(len(r.buf)) {
		return nil
	}
	return r.buf[off-r.bufOff:]
}

// buffered returns the record at file offset off if buf holds all of it, and the length
// of its prefix.
func (r *entryReader) buffered(off int64) ([]byte, int) {
	w := r.window(off)
	l, k := binary.Uvarint(w)
	if k <= 0 || int64(k)+int64(l) > int64(len(w)) {
		return nil, 0
	}
	return w[k : k+int(l)], k
}

// close lets go of the entry: a scan still running that nobody reads any more stops and
// is forgotten.
func (r *entryReader) close() {
	if r.closed {
		return
	}
	r.closed = true
	e := r.e
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e.readers--
	e.mu.Lock()
	// A limited scan that has its rows is only winding down: let it finish and be kept.
	done := e.done || (e.limit >= 0 && e.rows >= e.limit)
	e.mu.Unlock()
	switch {
	case !done && e.readers == 0:
		// The scan's goroutine frees the rows when it has stopped writing them.
		e.cancel()
		e.dropped = true
		c.drop(e)
	case e.dropped && e.readers == 0:
		e.release()
	}
}
