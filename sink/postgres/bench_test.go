package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/spoutdev/spout/sink"
)

// tenColumns is a typical inventory row: ten columns of every type.
var tenColumns = []sink.Column{
	{Name: "arn", Type: sink.TypeText},
	{Name: "name", Type: sink.TypeText},
	{Name: "region", Type: sink.TypeText},
	{Name: "account_id", Type: sink.TypeText},
	{Name: "size_bytes", Type: sink.TypeBigint},
	{Name: "object_count", Type: sink.TypeBigint},
	{Name: "cost", Type: sink.TypeDouble},
	{Name: "public", Type: sink.TypeBoolean},
	{Name: "created", Type: sink.TypeTimestamptz},
	{Name: "tags", Type: sink.TypeJSONB},
}

// tenColumnBatch makes n fresh rows numbered from first.
func tenColumnBatch(first, n int) []sink.Row {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]sink.Row, n)
	for i := range rows {
		id := first + i
		rows[i] = sink.Row{
			fmt.Sprintf("arn:aws:s3:::bucket-%d", id),
			fmt.Sprintf("bucket-%d", id),
			"eu-west-1",
			"123456789012",
			int64(id) * 1024,
			int64(id % 1000),
			float64(id) * 0.01,
			id%2 == 0,
			created.Add(time.Duration(id) * time.Second),
			json.RawMessage(`{"env":"prod","team":"platform"}`),
		}
	}
	return rows
}

// BenchmarkPostgresCopy streams b.N ten-column rows as one result, in batches of 1000,
// and reports rows per second.
func BenchmarkPostgresCopy(b *testing.B) {
	for _, wrapped := range []bool{false, true} {
		name := "bare"
		if wrapped {
			name = "wrapped" // batching, retry spool, dead-letter spool
		}
		b.Run(name, func(b *testing.B) {
			s, _ := newTestSink(b, Config{Mode: Append})
			var target sink.Sink = s
			if wrapped {
				target = sink.Wrap(s, sink.Options{DeadLetter: sink.DirStore(b.TempDir())})
			}
			ctx := context.Background()
			// Rows are made up front so that only the sink is measured. Rows are never
			// modified once written, so reusing them is within the Writer contract.
			pool := tenColumnBatch(0, 10_000)
			b.ResetTimer()
			w, err := target.Open(ctx, info("bench", tenColumns))
			if err != nil {
				b.Fatal(err)
			}
			for done := 0; done < b.N; {
				n := min(1000, b.N-done)
				off := done % len(pool)
				if err := w.Write(ctx, pool[off:off+n]); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			if err := w.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkPostgresMillionRows streams one million ten-column rows through the fully
// wrapped sink and reports the peak heap growth: the result must stream, not pile up
// in memory. One result is the measurement, so b.N is ignored.
func BenchmarkPostgresMillionRows(b *testing.B) {
	const total = 1_000_000
	s, conn := newTestSink(b, Config{Mode: Replace})
	target := sink.Wrap(s, sink.Options{DeadLetter: sink.DirStore(b.TempDir())})
	ctx := context.Background()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	start := time.Now()
	w, err := target.Open(ctx, info("million", tenColumns))
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < total; done += 1000 {
		// Fresh rows every batch, as a query produces them: if any layer kept them,
		// the heap would grow by hundreds of megabytes.
		if err := w.Write(ctx, tenColumnBatch(done, 1000)); err != nil {
			b.Fatal(err)
		}
		if done%50_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	elapsed := time.Since(start)

	var n int
	if err := conn.QueryRow(ctx, "select count(*) from buckets").Scan(&n); err != nil || n != total {
		b.Fatalf("%d rows in the table, %v", n, err)
	}
	growth := float64(peak-base) / (1 << 20)
	b.ReportMetric(growth, "MB-heap-growth")
	b.ReportMetric(total/elapsed.Seconds(), "rows/s")
	if growth >= 100 {
		b.Errorf("heap grew by %.0f MB streaming %d rows; want < 100 MB", growth, total)
	}
}
