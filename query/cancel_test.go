package query_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
)

// slowPagesSettle waits a few page delays and reports whether test_slow kept fetching.
func slowPagesSettle(t *testing.T, what string) {
	t.Helper()
	pages := testplugin.Calls.SlowPages()
	time.Sleep(6 * slowDelay)
	if after := testplugin.Calls.SlowPages(); after != pages {
		t.Errorf("%s: test_slow kept fetching: %d pages, then %d", what, pages, after)
	}
	// 100 pages of 50ms is 5s: a scan that ran to the end did not stop.
	if pages >= 20 {
		t.Errorf("%s: test_slow fetched %d of 100 pages", what, pages)
	}
}

// waitPages waits until test_slow has fetched n pages: the scan is under way.
func waitPages(t *testing.T, n int64) {
	t.Helper()
	if !eventually(5*time.Second, func() bool { return testplugin.Calls.SlowPages() >= n }) {
		t.Fatalf("test_slow fetched %d pages, want %d", testplugin.Calls.SlowPages(), n)
	}
}

func TestCancelStopsPlugin(t *testing.T) {
	eng := engine(t)
	for _, sql := range []string{
		"select id, page from slow.test_slow",
		"select id, page from slow.test_slow where page > 0",
		"select page, count(*) from slow.test_slow group by page",
		"select id from slow.test_slow order by id",
	} {
		t.Run(sql, func(t *testing.T) {
			testplugin.Calls.Reset()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// Cancel from the side once the scan is under way: an ordered query is still
			// inside Query then, a streamed one inside Next.
			cancelled := make(chan time.Time, 1)
			go func() {
				eventually(5*time.Second, func() bool { return testplugin.Calls.SlowPages() >= 2 })
				cancelled <- time.Now()
				cancel()
			}()
			start := time.Now()
			_, err := drain(ctx, eng, sql)
			end := time.Now()
			at := <-cancelled
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if d := end.Sub(at); d > time.Second {
				t.Errorf("the query returned %v after the cancellation", d)
			}
			if d := end.Sub(start); d > 3*time.Second {
				t.Errorf("cancelled query took %v", d)
			}
			slowPagesSettle(t, sql)
		})
	}
}

func TestCancelBeforeReading(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	ctx, cancel := context.WithCancel(t.Context())
	rows, err := eng.Query(ctx, "select id from slow.test_slow")
	if err != nil {
		t.Fatal(err)
	}
	waitPages(t, 1)
	cancel()
	start := time.Now()
	if err := rows.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	slowPagesSettle(t, "cancel before reading")
}

// TestCloseStopsPlugin: Close without cancelling the context stops the scan too.
func TestCloseStopsPlugin(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	rows, err := eng.Query(t.Context(), "select id from slow.test_slow")
	if err != nil {
		t.Fatal(err)
	}
	waitPages(t, 2)
	start := time.Now()
	rows.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if rows.Next() {
		t.Error("Next returned a row after Close")
	}
	slowPagesSettle(t, "close")
}

// TestFirstRowLatency: rows are handed on as the plugin produces them, not once DuckDB has
// filled a 2048-row vector. test_slow yields 10 rows per 50ms, so the first row should be
// readable long before the 5s the whole scan takes.
func TestFirstRowLatency(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	start := time.Now()
	rows, err := eng.Query(t.Context(), "select id, page from slow.test_slow")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("first row after %v (%d of 100 pages fetched)", d, testplugin.Calls.SlowPages())
	}
}

func TestDeadline(t *testing.T) {
	eng := engine(t)
	for _, sql := range []string{
		"select id, page from slow.test_slow",
		"select count(*) from slow.test_slow",
		"select id from slow.test_slow order by id desc",
	} {
		t.Run(sql, func(t *testing.T) {
			testplugin.Calls.Reset()
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := drain(ctx, eng, sql)
			d := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if d > 1500*time.Millisecond {
				t.Errorf("a 300ms deadline returned after %v", d)
			}
			slowPagesSettle(t, "deadline")
		})
	}
}
