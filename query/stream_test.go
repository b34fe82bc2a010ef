package query_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// heapInuse is the Go heap in use now.
func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// rss is the process's resident set in bytes (DuckDB allocates outside the Go heap), or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// heapAfterGC is HeapInuse right after a collection: the heap the program still holds,
// without the garbage GC pacing lets pile up between cycles.
func heapAfterGC() uint64 {
	runtime.GC()
	return heapInuse()
}

type streamMemory struct {
	growth    uint64 // peak of heapAfterGC over the baseline, sampled every 50k rows
	first     uint64 // heapAfterGC at the first sample (50k rows)
	last      uint64 // heapAfterGC at the last sample
	rssGrowth uint64
}

// streamBig reads every row of sql (id, name, value of test_big) through Scan, checks each
// row, and samples memory every 50k rows.
func streamBig(t *testing.T, sql string, want int64) streamMemory {
	t.Helper()
	eng := engine(t)
	base, baseRSS := heapAfterGC(), rss()
	var mem streamMemory
	var peak, peakRSS uint64
	sample := func(first bool) {
		h := heapAfterGC()
		peak = max(peak, h)
		peakRSS = max(peakRSS, rss())
		if first {
			mem.first = h
		}
		mem.last = h
	}
	start := time.Now()
	rows, err := eng.Query(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, sum int64
	var id int64
	var name string
	var value float64
	for rows.Next() {
		if err := rows.Scan(&id, &name, &value); err != nil {
			t.Fatal(err)
		}
		if value != float64(id)*0.5 || name != "big-"+strconv.FormatInt(id, 10) {
			t.Fatalf("row id %d: name %q value %v", id, name, value)
		}
		n++
		sum += id
		if n%50_000 == 0 {
			sample(n == 50_000)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	if n != want || sum != want*(want+1)/2 {
		t.Fatalf("%d rows with id sum %d, want ids 1..%d", n, sum, want)
	}
	if peak > base {
		mem.growth = peak - base
	}
	if peakRSS > baseRSS {
		mem.rssGrowth = peakRSS - baseRSS
	}
	t.Logf("%d rows in %v (%.0f rows/s); heap +%.1f MB at the peak (%.1f MB at 50k rows, %.1f MB at the end, %.1f MB before); RSS +%.1f MB",
		n, d, float64(n)/d.Seconds(), float64(mem.growth)/1e6, float64(mem.first)/1e6, float64(mem.last)/1e6, float64(base)/1e6, float64(mem.rssGrowth)/1e6)
	return mem
}

// checkStreamed fails when memory grows with the rows read. Held as Go values a row costs
// at least ~100 bytes (a []any of three boxed values and the name), so 150k more rows
// would add 15 MB to the heap between the first and the last sample.
func checkStreamed(t *testing.T, mem streamMemory, rows int) {
	t.Helper()
	if mem.growth > 100e6 {
		t.Errorf("reading %d rows grew the heap by %.1f MB, want < 100 MB", rows, float64(mem.growth)/1e6)
	}
	if mem.last > mem.first+10e6 {
		t.Errorf("heap grew from %.1f MB at 50k rows to %.1f MB after %d: rows are being held",
			float64(mem.first)/1e6, float64(mem.last)/1e6, rows)
	}
}

func TestStreamingMemory(t *testing.T) {
	mem := streamBig(t, "select id, name, value from big.test_big", bigRows)
	checkStreamed(t, mem, bigRows)
}

// TestStreamingMemoryMillion is the full-size version: a million rows.
func TestStreamingMemoryMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows through the SDK take 15-50 s on two shared cores")
	}
	mem := streamBig(t, "select id, name, value from test_big", 1_000_000)
	checkStreamed(t, mem, 1_000_000)
	// DuckDB's own memory is outside the Go heap; a materialised million rows would show
	// in RSS.
	if mem.rssGrowth > 400e6 {
		t.Errorf("reading a million rows grew RSS by %.1f MB", float64(mem.rssGrowth)/1e6)
	}
}

// closeAfter10 reads 10 rows of the million-row test_big and closes; it returns how long
// Close took.
func closeAfter10(t *testing.T) time.Duration {
	t.Helper()
	rows, err := engine(t).Query(t.Context(), "select id, name, value from test_big")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if !rows.Next() {
			t.Fatalf("row %d: %v", i, rows.Err())
		}
	}
	start := time.Now()
	if err := rows.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	return time.Since(start)
}

// TestEarlyClose: closing after 10 rows of a million-row scan returns at once and stops the
// scan; the engine goes on working.
func TestEarlyClose(t *testing.T) {
	eng := engine(t)
	start := time.Now()
	for i := 0; i < 5; i++ {
		if d := closeAfter10(t); d > time.Second {
			t.Errorf("Close after 10 rows took %v", d)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("five early closes of a million-row scan took %v: the scans ran on", d)
	}
	testplugin.Calls.Reset()
	rows, _ := collect(t, eng, "select id from test_big limit 3")
	if len(rows) != 3 {
		t.Errorf("after early closes: %d rows, want 3", len(rows))
	}
}

// TestEarlyCloseGoroutines: early closes leave no goroutines behind, beyond the SDK's
// per-connection cache goroutines that the first scan starts.
func TestEarlyCloseGoroutines(t *testing.T) {
	skipBug(t, bugEarlyCloseLeak)
	settle := func() int {
		time.Sleep(200 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	closeAfter10(t)
	base := settle()
	for i := 0; i < 5; i++ {
		closeAfter10(t)
	}
	if after := settle(); after > base+2 {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines grew from %d to %d over five early closes\n%s", base, after, summarizeStacks(string(buf[:n])))
	}
}

// summarizeStacks counts goroutines by their top query/SDK frame, for a readable failure.
func summarizeStacks(all string) string {
	counts := map[string]int{}
	for _, g := range strings.Split(all, "\n\n") {
		lines := strings.Split(g, "\n")
		key := lines[0]
		for _, l := range lines[1:] {
			if strings.Contains(l, "spout") || strings.Contains(l, "steampipe-plugin-sdk") {
				key = strings.TrimSpace(l)
				break
			}
		}
		counts[key]++
	}
	var b strings.Builder
	for k, v := range counts {
		fmt.Fprintf(&b, "%4d %s\n", v, k)
	}
	return b.String()
}

// TestCloseReleasesPlugins: a closed engine gives back its plugins' memory and goroutines,
// so a service can build engines as it needs them.
func TestCloseReleasesPlugins(t *testing.T) {
	skipBug(t, bugCloseLeak)
	cycle := func() {
		eng := newEngine(t, query.WithConnection("a", "test", "rows = 3"), query.WithConnection("b", "test", "rows = 3"))
		collect(t, eng, "select id from a.test_types")
		collect(t, eng, "select id from b.test_types")
		if err := eng.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	time.Sleep(100 * time.Millisecond)
	baseHeap, baseG := heapAfterGC(), runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		cycle()
	}
	time.Sleep(100 * time.Millisecond)
	heap, g := heapAfterGC(), runtime.NumGoroutine()
	if heap > baseHeap+20e6 || g > baseG+2 {
		t.Errorf("three engines built and closed: heap %.1f -> %.1f MB, goroutines %d -> %d",
			float64(baseHeap)/1e6, float64(heap)/1e6, baseG, g)
	}
}
