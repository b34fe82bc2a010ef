package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
)

// diffRows is the result size of the diff benchmarks.
const diffRows = 100_000

// BenchmarkDiffRun runs one query of diffRows rows (test_big) per op through the runner,
// to a file sink, with a Postgres state store, after a first run that saved the state:
// "off" is the same query without diff, "keyed" and "unkeyed" compare every row with the
// saved state (nothing changed, nothing sent) and save it again. It reports rows/s and
// the peak growth of the Go heap during an op (sampled every 5ms), to compare with the
// bound docs/config.md gives per row.
func BenchmarkDiffRun(b *testing.B) {
	dsn := pgtest.DSN(b)
	b.Setenv("BENCH_STATE_DSN", dsn)
	for _, bc := range []struct{ name, diff string }{
		{"off", ""},
		{"unkeyed", "\n    diff: true"},
		{"keyed", "\n    diff: {key: [id]}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			text := fmt.Sprintf(`
connections:
  big: {plugin: test, config: "big_rows = %d"}
sinks:
  out: {type: file, path: "%s/out.jsonl"}
state: {type: postgres, dsn_env: BENCH_STATE_DSN, table: bench_%s}
queries:
  - name: big
    sinks: [out]%s
    sql: select id, name, value from test_big
`, diffRows, dir, bc.name, bc.diff)
			path := filepath.Join(dir, "spout.yaml")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
			cfg, err := config.Load(path, os.LookupEnv)
			if err != nil {
				b.Fatal(err)
			}
			o := runner.Options{Plugins: map[string]query.PluginFunc{"test": testplugin.Plugin}, Logger: quietLogger()}
			run := func() *runner.Manifest {
				m := runner.Run(context.Background(), cfg, o)
				if m.ExitCode != 0 || m.Queries[0].Rows != diffRows {
					b.Fatalf("exit %d: %+v", m.ExitCode, m.Queries)
				}
				return m
			}
			run() // saves the state the ops compare with
			var elapsed time.Duration
			var peak uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				stop := sampleHeap()
				b.StartTimer()
				start := time.Now()
				m := run()
				elapsed += time.Since(start)
				b.StopTimer()
				if top := stop(); top > base {
					peak = max(peak, top-base)
				}
				if d := m.Queries[0].Diff; d != nil && (d.Unchanged != diffRows || !d.StateAdvanced) {
					b.Fatalf("diff = %+v, want every row unchanged", d)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(diffRows)*float64(b.N)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "MB-peak-heap-growth")
		})
	}
}

// sampleHeap samples HeapInuse until the returned function is called, which returns the
// highest value seen.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	top := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				top <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-top }
}
