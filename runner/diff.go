package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/state"
)

// ChangeColumn is the column a diffed query's result gains: what happened to the row
// since the last successful run (a Change value), or null when the run could not tell
// (first run with diff_first_run snapshot, unreachable state store).
const ChangeColumn = "_spout_change"

// Change values.
const (
	ChangeAdded     = "added"
	ChangeRemoved   = "removed"
	ChangeChanged   = "changed"   // keyed diffs only: same key, other columns differ
	ChangeUnchanged = "unchanged" // snapshot sinks only
)

// DiffResult is what a diffed query found, in the manifest.
type DiffResult struct {
	Added     int64 `json:"added"`
	Removed   int64 `json:"removed"`
	Changed   int64 `json:"changed"`
	Unchanged int64 `json:"unchanged"`
	// FirstRun: no snapshot was saved before; the counts compare with an empty one.
	FirstRun bool `json:"first_run,omitempty"`
	// StateAdvanced: every sink committed and the result is now the saved snapshot.
	StateAdvanced bool `json:"state_advanced"`
	// FullSnapshot: the state store could not be read, so every sink received the whole
	// result with _spout_change null; the run exits 1 and the state is left as it was.
	FullSnapshot bool   `json:"full_snapshot,omitempty"`
	StateError   string `json:"state_error,omitempty"`
}

// prevEntry is one record of the previous snapshot, held in memory as hashes and the
// offset of its row in the spool.
type prevEntry struct {
	row   state.Hash // the row's hash (keyed diffs; unkeyed entries are keyed by it)
	off   int64
	count int32 // unkeyed: copies of the row not yet matched by the current result
	seen  bool  // keyed: the key is in the current result
}

// differ is the fan-out of a diffed query: it classifies each row against the previous
// snapshot, sends the changes to the change sinks (opened only once there is a change,
// so that a run without changes sends nothing) and every row to the snapshot sinks,
// and saves the new snapshot once every sink committed.
type differ struct {
	r        *run
	q        *config.Query
	log      *slog.Logger
	info     sink.ResultInfo // with ChangeColumn
	cols     []sink.Column   // without it
	keyIdx   []int
	stateKey string
	res      DiffResult

	full     bool // the state store failed: every row to every sink, unmarked
	firstRun string
	partial  bool // set before commit: some connection failed, so missing rows are not removed

	prev    map[state.Hash]prevEntry // unkeyed: by row hash; keyed: by key hash
	prevSp  *recordSpool
	cur     *recordSpool
	curKeys map[state.Hash]struct{}
	buf     []byte
	err     error // a classification failure: the result must be aborted

	changeSinks, snapSinks []string
	changes, snaps         *delivery // changes nil until opened
	committed              bool
}

// startDiff loads the query's previous snapshot and opens its snapshot sinks (all its
// sinks when the state store cannot be read).
func (r *run) startDiff(ctx context.Context, q *config.Query, info sink.ResultInfo, log *slog.Logger) *differ {
	d := &differ{r: r, q: q, log: log, cols: info.Columns, stateKey: state.Key(q.Name, r.o.StateScope), firstRun: q.FirstRun()}
	d.info = info
	d.info.Columns = append(slices.Clip(info.Columns), sink.Column{Name: ChangeColumn, Type: sink.TypeText})
	for _, k := range q.Diff.Key {
		d.keyIdx = append(d.keyIdx, slices.IndexFunc(info.Columns, func(c sink.Column) bool { return c.Name == k }))
	}
	for _, name := range q.Sinks {
		if slices.Contains(q.Diff.SnapshotSinks, name) {
			d.snapSinks = append(d.snapSinks, name)
		} else {
			d.changeSinks = append(d.changeSinks, name)
		}
	}
	if err := d.load(ctx); err != nil {
		d.full = true
		d.res.FullSnapshot = true
		d.res.StateError = "loading the state: " + err.Error()
		log.Error("state store unreachable: delivering the full result", "error", err.Error())
		d.snapSinks, d.changeSinks = slices.Clone(q.Sinks), nil
	}
	d.snaps = r.openSinks(ctx, d.snapSinks, d.info, log)
	return d
}

func (d *differ) load(ctx context.Context) error {
	if d.r.prepared.state == nil {
		// Validation refuses a diff without a state section; this only keeps a bug from panicking.
		return errors.New("no state store is configured")
	}
	var err error
	if d.cur, err = newRecordSpool(); err != nil {
		return err
	}
	if d.prevSp, err = newRecordSpool(); err != nil {
		return err
	}
	d.prev = map[state.Hash]prevEntry{}
	if d.keyed() {
		d.curKeys = map[state.Hash]struct{}{}
	}
	found, err := d.r.prepared.state.Load(ctx, d.stateKey, func(rec state.Record) error {
		off, err := d.prevSp.add(rec)
		if err != nil {
			return err
		}
		if !d.keyed() {
			e := d.prev[rec.Hash]
			if e.count == 0 {
				e.off = off
			}
			e.count++
			d.prev[rec.Hash] = e
			return nil
		}
		// A record saved by a diff without key has none: filed under its row hash, which
		// no key hash matches, it counts as removed and the current rows as added.
		k := rec.Key
		if k == (state.Hash{}) {
			k = rec.Hash
		}
		d.prev[k] = prevEntry{row: rec.Hash, off: off}
		return nil
	})
	if err != nil {
		return err
	}
	d.res.FirstRun = !found
	return nil
}

func (d *differ) keyed() bool { return len(d.keyIdx) > 0 }

// classify compares row with the previous snapshot and records it for the next one.
func (d *differ) classify(row sink.Row) (string, error) {
	d.buf = state.Canonical(d.buf[:0], d.cols, row)
	rec := state.Record{Hash: state.HashOf(d.buf), Row: d.buf}
	change := ChangeAdded
	if d.keyed() {
		kb := []byte{'['}
		for i, idx := range d.keyIdx {
			if i > 0 {
				kb = append(kb, ',')
			}
			kb = sink.AppendJSONValue(kb, row[idx])
		}
		kb = append(kb, ']')
		rec.Key = state.HashOf(kb)
		if _, dup := d.curKeys[rec.Key]; dup {
			return "", fmt.Errorf("diff key (%s) is not unique in the result: %s appears twice", strings.Join(d.q.Diff.Key, ", "), kb)
		}
		d.curKeys[rec.Key] = struct{}{}
		if e, ok := d.prev[rec.Key]; ok {
			e.seen = true
			d.prev[rec.Key] = e
			change = ChangeChanged
			if e.row == rec.Hash {
				change = ChangeUnchanged
			}
		}
	} else if e, ok := d.prev[rec.Hash]; ok && e.count > 0 {
		e.count--
		d.prev[rec.Hash] = e
		change = ChangeUnchanged
	}
	if _, err := d.cur.add(rec); err != nil {
		return "", err
	}
	switch change {
	case ChangeAdded:
		d.res.Added++
	case ChangeChanged:
		d.res.Changed++
	default:
		d.res.Unchanged++
	}
	return change, nil
}

// marked returns row with its change appended, in a slice of its own: sinks may keep rows.
func marked(row sink.Row, change any) sink.Row {
	return append(row[:len(row):len(row)], change)
}

func (d *differ) write(ctx context.Context, rows []sink.Row) {
	if d.err != nil {
		return
	}
	if d.full {
		out := make([]sink.Row, len(rows))
		for i, row := range rows {
			out[i] = marked(row, nil)
		}
		d.snaps.write(ctx, out)
		return
	}
	var changes, snaps []sink.Row
	for _, row := range rows {
		change, err := d.classify(row)
		if err != nil {
			d.err = err
			return
		}
		var mark any = change
		if d.res.FirstRun && d.firstRun != config.FirstRunAdded {
			mark = nil
		}
		m := marked(row, mark)
		if len(d.snapSinks) > 0 {
			snaps = append(snaps, m)
		}
		switch {
		case change == ChangeUnchanged:
		case d.res.FirstRun && d.firstRun == config.FirstRunNone:
		default:
			changes = append(changes, m)
		}
	}
	if len(snaps) > 0 {
		d.snaps.write(ctx, snaps)
	}
	d.writeChanges(ctx, changes)
}

// writeChanges sends rows to the change sinks, opening them on the first change.
func (d *differ) writeChanges(ctx context.Context, rows []sink.Row) {
	if len(rows) == 0 || len(d.changeSinks) == 0 {
		return
	}
	if d.changes == nil {
		d.changes = d.r.openSinks(ctx, d.changeSinks, d.info, d.log)
	}
	d.changes.write(ctx, rows)
}

// failure is why the result must not be committed, if any.
func (d *differ) failure() error { return d.err }

// commit sends the removed rows, commits every sink and, when all of them committed,
// saves the result as the query's snapshot.
func (d *differ) commit(ctx context.Context) {
	d.committed = true
	if !d.full {
		if err := d.sendRemoved(ctx); err != nil {
			// Without its removed rows the result would be wrong: deliver nothing.
			d.res.StateError = err.Error()
			d.abort(ctx)
			return
		}
	}
	d.snaps.commit(ctx)
	if d.changes != nil {
		d.changes.commit(ctx)
	}
	if d.full {
		return
	}
	for _, s := range d.outcome() {
		if s.Status != Delivered {
			d.log.Warn("state not advanced: a sink did not commit the result", "sink", s.Name, "status", s.Status)
			return
		}
	}
	// The sinks have the result: saving it is worth finishing even if the run is stopping.
	sctx, cancel := d.r.cleanupContext(ctx)
	defer cancel()
	if err := d.r.prepared.state.Save(sctx, d.stateKey, d.nextState()); err != nil {
		d.res.StateError = "saving the state: " + err.Error()
		d.log.Error("saving the state failed; the next run sends these changes again", "error", err.Error())
		return
	}
	d.res.StateAdvanced = true
}

// removedEntries lists the previous records the current result lacks, in their order.
func (d *differ) removedEntries() []prevEntry {
	var out []prevEntry
	for _, e := range d.prev {
		if (d.keyed() && !e.seen) || (!d.keyed() && e.count > 0) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b prevEntry) int { return int(a.off - b.off) })
	return out
}

func (d *differ) sendRemoved(ctx context.Context) error {
	if d.partial {
		// Rows missing because a connection failed are not gone: nextState keeps them.
		return nil
	}
	batch := make([]sink.Row, 0, batchRows)
	for _, e := range d.removedEntries() {
		rec, err := d.prevSp.at(e.off)
		if err != nil {
			return err
		}
		row, err := rowFromJSON(d.cols, rec.Row)
		if err != nil {
			return fmt.Errorf("reading a removed row of the saved state: %w", err)
		}
		n := max(e.count, 1)
		d.res.Removed += int64(n)
		for range n {
			batch = append(batch, marked(row, ChangeRemoved))
			if len(batch) == batchRows {
				d.writeChanges(ctx, batch)
				batch = make([]sink.Row, 0, batchRows)
			}
		}
	}
	d.writeChanges(ctx, batch)
	return nil
}

// nextState yields the records of the new snapshot: the current result's, plus, for a
// partial result, the previous records it lacks.
func (d *differ) nextState() func(func(state.Record, error) bool) {
	return func(yield func(state.Record, error) bool) {
		for rec, err := range d.cur.all() {
			if !yield(rec, err) || err != nil {
				return
			}
		}
		if !d.partial {
			return
		}
		for _, e := range d.removedEntries() {
			rec, err := d.prevSp.at(e.off)
			for range max(e.count, 1) {
				if !yield(rec, err) || err != nil {
					return
				}
			}
		}
	}
}

func (d *differ) abort(ctx context.Context) {
	d.snaps.abort(ctx)
	if d.changes != nil {
		d.changes.abort(ctx)
	}
}

// outcome gives each of the query's sinks its result, in the query's order. A change
// sink never opened got nothing to deliver: delivered, no rows, when the result
// committed.
func (d *differ) outcome() []SinkResult {
	out := make([]SinkResult, 0, len(d.q.Sinks))
	for _, name := range d.q.Sinks {
		res := SinkResult{Name: name, Status: NotDelivered}
		if d.committed {
			res.Status = Delivered
		}
		for _, dv := range []*delivery{d.snaps, d.changes} {
			if dv == nil {
				continue
			}
			if i := slices.IndexFunc(dv.results, func(s SinkResult) bool { return s.Name == name }); i >= 0 {
				res = dv.results[i]
			}
		}
		out = append(out, res)
	}
	return out
}

func (d *differ) close() {
	d.cur.close()
	d.prevSp.close()
}

// result is the manifest's view of the diff.
func (d *differ) result() *DiffResult {
	res := d.res
	return &res
}

// rowFromJSON rebuilds a row for cols from its canonical JSON, as saved in the state. A
// column the saved row lacks (the query gained it since) is null.
func rowFromJSON(cols []sink.Column, b []byte) (sink.Row, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	row := make(sink.Row, len(cols))
	for i, c := range cols {
		raw, ok := obj[c.Name]
		if !ok || string(raw) == "null" {
			continue
		}
		v, err := valueFromJSON(c.Type, raw)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		row[i] = v
	}
	return row, nil
}

func valueFromJSON(typ string, raw json.RawMessage) (any, error) {
	switch typ {
	case sink.TypeJSONB:
		return raw, nil
	case sink.TypeText:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return string(raw), nil // saved when the column had another type
		}
		return s, nil
	case sink.TypeBigint:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var n json.Number
		if err := dec.Decode(&n); err != nil {
			return nil, err
		}
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		f, err := n.Float64()
		return int64(f), err
	case sink.TypeDouble:
		var f float64
		err := json.Unmarshal(raw, &f)
		return f, err
	case sink.TypeBoolean:
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case sink.TypeTimestamptz:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return time.Parse(time.RFC3339Nano, s)
	}
	return nil, errors.New("unknown column type " + typ)
}
