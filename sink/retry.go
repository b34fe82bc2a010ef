package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how patiently a failed delivery is retried. Waits grow
// exponentially from Backoff to MaxBackoff with jitter; a RetryAfterError asks for at
// least its own wait. PermanentErrors are not retried, nor is anything once the caller's
// context is done.
type RetryPolicy struct {
	Attempts   int           `yaml:"attempts" doc:"Tries in all, the first included; default 5."`                                                      // total tries, first included; default 5
	Backoff    time.Duration `yaml:"backoff" doc:"The first wait between tries, e.g. 1s; waits double up to max_backoff, with jitter. Default 500ms."` // first wait; default 500ms
	MaxBackoff time.Duration `yaml:"max_backoff" doc:"The longest wait between tries; default 30s."`                                                   // longest wait; default 30s

	// Logger receives one record per retry. nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// Default retry settings.
const (
	DefaultAttempts   = 5
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	return p
}

// Retry returns s with failed deliveries retried under p.
//
// Most destinations can only deliver a result whole (a Postgres transaction, an S3
// multipart upload): when one fails midway, its Writer is aborted and the result is
// replayed into a fresh one. So that a retry does not need the caller to produce the
// rows again, or memory to hold them, each batch is also spooled to an unlinked
// temporary file as it is written.
//
// Writers that implement BatchRetrier (the webhook) are instead retried call by call:
// the failed Write or Commit is repeated with the same batch and nothing is spooled.
func Retry(s Sink, p RetryPolicy) Sink {
	return &retrySink{Sink: s, p: p.withDefaults()}
}

type retrySink struct {
	Sink
	p RetryPolicy
}

func (s *retrySink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	var (
		w   Writer
		err error
	)
	for attempt := 1; ; attempt++ {
		if w, err = s.Sink.Open(ctx, info); err == nil {
			break
		}
		if err := s.wait(ctx, info, attempt, err); err != nil {
			return nil, err
		}
	}
	if br, ok := w.(BatchRetrier); ok && br.RetriesBatches() {
		return &batchRetryWriter{s: s, info: info, w: w}, nil
	}
	if s.p.Attempts == 1 {
		return w, nil // nothing will be replayed, so nothing to spool
	}
	sp, err := newSpool()
	if err != nil {
		_ = w.Abort(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sink %q: %w", s.Name(), err)
	}
	return &replayWriter{s: s, info: info, w: w, spool: sp, attempt: 1}, nil
}

// wait decides whether to try again after the attempt-th try failed with err. It
// sleeps the backoff and returns nil to go on, or the error to give up with.
func (s *retrySink) wait(ctx context.Context, info ResultInfo, attempt int, err error) error {
	if ctx.Err() != nil || IsPermanent(err) {
		return err
	}
	if attempt >= s.p.Attempts {
		return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
	}
	d := s.backoff(attempt)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > d {
		d = ra.After
	}
	// No point sleeping past the caller's deadline only to be cancelled.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return fmt.Errorf("%w (no time left to retry after %d attempts: next try in %s)", err, attempt, d.Round(time.Millisecond))
	}
	s.p.Logger.LogAttrs(ctx, slog.LevelWarn, "sink delivery failed; retrying",
		slog.String("sink", s.Name()), slog.String("query", info.Query),
		slog.Int("attempt", attempt), slog.Duration("wait", d), slog.String("error", err.Error()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (retry interrupted: %w)", err, ctx.Err())
	}
}

// backoff is the wait after the attempt-th failure: exponential, capped, with "equal
// jitter" (half fixed, half random) so concurrent writers spread out yet still back off.
func (s *retrySink) backoff(attempt int) time.Duration {
	d := s.p.MaxBackoff
	if attempt < 32 {
		if e := s.p.Backoff << (attempt - 1); e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// replayWriter retries a whole result: on failure it aborts the inner writer, opens a
// fresh one and replays the spool into it.
type replayWriter struct {
	s       *retrySink
	info    ResultInfo
	w       Writer // nil while broken
	spool   *spool
	attempt int   // tries made so far
	err     error // sticky: set once the policy gave up
}

func (r *replayWriter) Write(ctx context.Context, rows []Row) error {
	if r.err != nil {
		return r.err
	}
	if r.w == nil {
		return fmt.Errorf("sink %q: result already committed or aborted", r.s.Name())
	}
	if err := r.spool.append(rows); err != nil {
		r.err = Permanent(fmt.Errorf("sink %q: %w", r.s.Name(), err))
		return r.err
	}
	err := r.w.Write(ctx, rows)
	if err == nil {
		return nil
	}
	return r.recover(ctx, err)
}

func (r *replayWriter) Commit(ctx context.Context) error {
	if r.err != nil {
		return r.err
	}
	if r.w == nil {
		return fmt.Errorf("sink %q: result already committed or aborted", r.s.Name())
	}
	for {
		err := r.w.Commit(ctx)
		if err == nil {
			r.w = nil
			return r.spool.close()
		}
		if err := r.recover(ctx, err); err != nil {
			return err
		}
	}
}

func (r *replayWriter) Abort(ctx context.Context) error {
	var err error
	if r.w != nil {
		err = r.w.Abort(ctx)
		r.w = nil
	}
	_ = r.spool.close()
	return err
}

// recover replaces the failed inner writer with a fresh one holding everything written
// so far, or gives up. It returns nil when writing can go on.
func (r *replayWriter) recover(ctx context.Context, err error) error {
	for {
		if r.w != nil {
			// The failed writer's transaction or upload must be undone even if ctx is
			// what failed.
			_ = r.w.Abort(context.WithoutCancel(ctx))
			r.w = nil
		}
		if werr := r.s.wait(ctx, r.info, r.attempt, err); werr != nil {
			r.err = werr
			return werr
		}
		r.attempt++
		w, oerr := r.s.Sink.Open(ctx, r.info)
		if oerr != nil {
			err = oerr
			continue
		}
		r.w = w
		if err = r.spool.replay(func(rows []Row) error { return w.Write(ctx, rows) }); err == nil {
			return nil
		}
	}
}

// batchRetryWriter retries a failed call with the same batch; the writer's idempotency
// keys make a repeated delivery harmless.
type batchRetryWriter struct {
	s    *retrySink
	info ResultInfo
	w    Writer
}

func (b *batchRetryWriter) Write(ctx context.Context, rows []Row) error {
	return b.do(ctx, func() error { return b.w.Write(ctx, rows) })
}

func (b *batchRetryWriter) Commit(ctx context.Context) error {
	return b.do(ctx, func() error { return b.w.Commit(ctx) })
}

func (b *batchRetryWriter) Abort(ctx context.Context) error { return b.w.Abort(ctx) }

func (b *batchRetryWriter) do(ctx context.Context, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if err := b.s.wait(ctx, b.info, attempt, err); err != nil {
			return err
		}
	}
}
