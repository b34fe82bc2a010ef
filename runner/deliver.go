package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/spoutdev/spout/sink"
)

// delivery fans one result out to its sinks. A sink that fails is aborted and dropped
// from the fan-out; the others go on.
type delivery struct {
	log     *slog.Logger
	writers []sink.Writer // nil once the sink failed or finished
	results []SinkResult
}

func (r *run) openSinks(ctx context.Context, names []string, info sink.ResultInfo, log *slog.Logger) *delivery {
	d := &delivery{log: log}
	for _, name := range names {
		res := SinkResult{Name: name}
		w, err := r.prepared.sinks[name].Open(ctx, info)
		if err != nil {
			res.Status, res.Error = Failed, err.Error()
			log.Error("opening sink failed", "sink", name, "error", err.Error())
		}
		d.writers = append(d.writers, w)
		d.results = append(d.results, res)
	}
	return d
}

func (d *delivery) outcome() []SinkResult { return d.results }

func (d *delivery) failure() error { return nil }

// live lists the indexes of the sinks still being written.
func (d *delivery) live() []int {
	var out []int
	for i, w := range d.writers {
		if w != nil {
			out = append(out, i)
		}
	}
	return out
}

func (d *delivery) write(ctx context.Context, rows []sink.Row) {
	for _, i := range d.live() {
		if err := d.writers[i].Write(ctx, rows); err != nil {
			d.fail(ctx, i, err)
			continue
		}
		d.results[i].Rows += int64(len(rows))
	}
}

// commit makes the result visible at every sink still live.
func (d *delivery) commit(ctx context.Context) {
	for _, i := range d.live() {
		err := d.writers[i].Commit(ctx)
		d.writers[i] = nil
		res := &d.results[i]
		if err == nil {
			res.Status = Delivered
			continue
		}
		res.Error = err.Error()
		res.Status = Failed
		var de *sink.DeliveryError
		if errors.As(err, &de) && de.DeadLetter != "" && de.DeadLetterErr == nil {
			res.Status, res.DeadLetter = DeadLettered, de.DeadLetter
			res.Error = de.Err.Error()
		}
		d.log.Error("delivery failed", "sink", res.Name, "status", res.Status, "dead_letter", res.DeadLetter, "error", res.Error)
	}
}

// abortTimeout bounds an abort after a failed write.
const abortTimeout = 10 * time.Second

// abort discards the result everywhere: the query failed, so nothing may become visible.
func (d *delivery) abort(ctx context.Context) {
	for _, i := range d.live() {
		if err := d.writers[i].Abort(ctx); err != nil {
			d.log.Warn("aborting sink failed", "sink", d.results[i].Name, "error", err.Error())
		}
		d.writers[i] = nil
		d.results[i].Status = NotDelivered
		d.results[i].Rows = 0
	}
}

func (d *delivery) fail(ctx context.Context, i int, err error) {
	d.log.Error("writing to sink failed", "sink", d.results[i].Name, "error", err.Error())
	// The write may have failed because ctx ended; the abort must still reach the sink.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_ = d.writers[i].Abort(actx)
	d.writers[i] = nil
	d.results[i].Status, d.results[i].Error = Failed, err.Error()
	d.results[i].Rows = 0
}
