package runner

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spoutdev/spout/runner/config"
)

// heartbeat logs, every run.heartbeat while queries run, what each running query has
// produced so far and what the engine's scans have fetched, so a slow run is never
// silent. It returns the function that stops it.
func (r *run) heartbeat(ctx context.Context, total int) (stop func()) {
	every := r.cfg.Run.Heartbeat.D()
	if every <= 0 {
		every = config.DefaultHeartbeat
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.beat(start, total)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *run) beat(start time.Time, total int) {
	r.mu.Lock()
	running := make([]any, 0, len(r.running))
	for _, n := range slices.Sorted(maps.Keys(r.running)) {
		p := r.running[n]
		running = append(running, map[string]any{
			"query":      n,
			"elapsed_ms": time.Since(p.started).Milliseconds(),
			"rows":       p.rows.Load(),
		})
	}
	r.mu.Unlock()

	prog := r.eng.Progress()
	var fetched int64
	for _, n := range prog.Rows {
		fetched += n
	}
	r.log.LogAttrs(context.Background(), slog.LevelInfo, "heartbeat",
		slog.Int64("elapsed_ms", time.Since(start).Milliseconds()),
		slog.Int64("queries_done", r.done.Load()),
		slog.Int("queries_total", total),
		slog.Any("running", running),
		// Scans are the plugin table scans of the running queries, each a stream of API
		// calls per connection; rows_fetched is what the APIs have returned so far.
		slog.Int("scans_running", prog.Running),
		slog.Int64("rows_fetched", fetched),
		slog.Any("rows_fetched_by_connection", prog.Rows),
		slog.String("connections_failing", strings.Join(slices.Sorted(maps.Keys(prog.Failed)), ",")),
	)
}
