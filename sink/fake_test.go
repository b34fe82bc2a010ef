package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// memSink is an in-memory destination for testing the wrappers. Its results become
// visible in committed only at Commit, like a real sink. fail, when set, is asked before
// every operation whether that operation should fail and with what.
type memSink struct {
	mu        sync.Mutex
	name      string
	committed [][]Row
	batches   []int // sizes of the Writes that reached the sink, in order
	opens     int
	aborts    int
	fail      func(op string, opens, writes int) error
	batchy    bool // writers implement BatchRetrier
}

func (m *memSink) Name() string { return m.name }
func (m *memSink) Close() error { return nil }

func (m *memSink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opens++
	if err := m.check("open", 0); err != nil {
		return nil, err
	}
	w := &memWriter{m: m, open: m.opens}
	if m.batchy {
		return &batchyWriter{w}, nil
	}
	return w, nil
}

func (m *memSink) check(op string, writes int) error {
	if m.fail == nil {
		return nil
	}
	return m.fail(op, m.opens, writes)
}

func (m *memSink) results() [][]Row {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.committed
}

type memWriter struct {
	m      *memSink
	open   int
	rows   []Row
	writes int
	done   bool
}

func (w *memWriter) Write(ctx context.Context, rows []Row) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.done {
		return errors.New("write after commit/abort")
	}
	w.writes++
	if err := w.m.check("write", w.writes); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.m.batches = append(w.m.batches, len(rows))
	w.rows = append(w.rows, rows...)
	return nil
}

func (w *memWriter) Commit(ctx context.Context) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.done {
		return errors.New("commit after commit/abort")
	}
	if err := w.m.check("commit", w.writes); err != nil {
		return err
	}
	w.done = true
	w.m.committed = append(w.m.committed, w.rows)
	return nil
}

func (w *memWriter) Abort(ctx context.Context) error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if !w.done {
		w.m.aborts++
	}
	w.done = true
	return nil
}

type batchyWriter struct{ *memWriter }

func (batchyWriter) RetriesBatches() bool { return true }

// slowSink blocks every Write until ctx is done.
type slowSink struct{ memSink }

func (s *slowSink) Open(ctx context.Context, info ResultInfo) (Writer, error) {
	return slowWriter{}, nil
}

type slowWriter struct{}

func (slowWriter) Write(ctx context.Context, rows []Row) error {
	<-ctx.Done()
	return fmt.Errorf("slow write: %w", ctx.Err())
}
func (slowWriter) Commit(ctx context.Context) error { return nil }
func (slowWriter) Abort(ctx context.Context) error  { return nil }

var testInfo = ResultInfo{
	Query:       "q",
	RunID:       "run-1",
	CollectedAt: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
	Columns:     []Column{{Name: "id", Type: TypeBigint}, {Name: "name", Type: TypeText}},
	Connection:  "aws",
}

func testRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{int64(i), fmt.Sprintf("row %d", i)}
	}
	return rows
}

func fastRetry() RetryPolicy {
	return RetryPolicy{Attempts: 5, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
}
