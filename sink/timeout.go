package sink

import (
	"context"
	"fmt"
	"time"
)

// Timeout returns s with each result's delivery, from Open to Commit and retries
// included, bounded by d. Abort is not bounded: undoing must always be possible.
func Timeout(s Sink, d time.Duration) Sink {
	if d <= 0 {
		return s
	}
	return &timeoutSink{Sink: s, d: d}
}

type timeoutSink struct {
	Sink
	d time.Duration
}

func (s *timeoutSink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	t := &timeoutWriter{s: s, deadline: time.Now().Add(s.d)}
	err := t.do(ctx, func(ctx context.Context) (err error) {
		t.w, err = s.Sink.Open(ctx, info)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

type timeoutWriter struct {
	s        *timeoutSink
	w        Writer
	deadline time.Time
}

func (t *timeoutWriter) Write(ctx context.Context, rows []Row) error {
	return t.do(ctx, func(ctx context.Context) error { return t.w.Write(ctx, rows) })
}

func (t *timeoutWriter) Commit(ctx context.Context) error {
	return t.do(ctx, t.w.Commit)
}

func (t *timeoutWriter) Abort(ctx context.Context) error { return t.w.Abort(ctx) }

func (t *timeoutWriter) do(ctx context.Context, call func(context.Context) error) error {
	dctx, cancel := context.WithDeadline(ctx, t.deadline)
	defer cancel()
	err := call(dctx)
	// Say so when it was our deadline that struck, not the caller's: the inner error
	// may only read "context deadline exceeded" or "connection closed".
	if err != nil && ctx.Err() == nil && dctx.Err() != nil {
		return fmt.Errorf("sink %q: delivery timed out after %s: %w", t.s.Name(), t.s.d, err)
	}
	return err
}
