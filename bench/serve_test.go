package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/pgwire"
	"github.com/spoutdev/spout/query"
)

const servePassword = "bench"

// startServe serves a test-plugin engine on a loopback port for the benchmark.
func startServe(b *testing.B) string {
	b.Helper()
	eng, err := query.New(context.Background(),
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", "rows = 50"),
		query.WithLogger(quietLogger()),
	)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := pgwire.New(context.Background(), eng, pgwire.Config{Users: []pgwire.User{{Name: "spout", Password: servePassword}}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, pgwire.ErrServerClosed) {
			b.Error(err)
		}
		eng.Close()
	})
	return fmt.Sprintf("postgres://spout:%s@%s/spout?sslmode=disable", servePassword, ln.Addr())
}

// BenchmarkServeConnectSelect1: a new session (TCP, startup, SCRAM-SHA-256 with 4096
// iterations on both sides) and `select 1`, as a BI tool without a pool does.
func BenchmarkServeConnectSelect1(b *testing.B) {
	dsn := startServe(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		var one int
		if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
			b.Fatal(one, err)
		}
		c.Close(ctx)
	}
}

// BenchmarkServe50Clients: 50 sessions run a test-plugin query (a scan of test_types,
// 50 rows, filtered and aggregated) back to back for a bounded time each iteration.
// Reports queries/s, p99 latency, the process's RSS, and the goroutines left once the
// clients have gone (should be what was there before).
func BenchmarkServe50Clients(b *testing.B) {
	const clients = 50
	period := 3 * time.Second
	if v := os.Getenv("SPOUT_BENCH_PERIOD"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			period = d
		}
	}
	dsn := startServe(b)
	ctx := context.Background()
	// One client first, so that what the engine and pgx start once (pools, caches) is
	// counted before the 50 arrive.
	warm, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := warm.QueryRow(ctx, "select count(*) from test_types where active and score > $1", 1.0).Scan(&n); err != nil {
		b.Fatal(err)
	}
	warm.Close(ctx)
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	var total int
	var all []time.Duration
	var elapsed time.Duration
	var rssKB int64
	for b.Loop() {
		conns := make([]*pgx.Conn, clients)
		for i := range conns {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		stop := start.Add(period)
		for i, c := range conns {
			wg.Go(func() {
				var lat []time.Duration
				for time.Now().Before(stop) {
					t0 := time.Now()
					var n int64
					if err := c.QueryRow(ctx, "select count(*) from test_types where active and score > $1", float64(i%10)).Scan(&n); err != nil {
						b.Error(err)
						return
					}
					lat = append(lat, time.Since(t0))
				}
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		rssKB = max(rssKB, rss())
		for _, c := range conns {
			c.Close(ctx)
		}
	}
	total = len(all)
	slices.Sort(all)
	// The sessions' goroutines end a moment after their clients close.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	after := runtime.NumGoroutine()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "queries/s")
	if total > 0 {
		b.ReportMetric(float64(all[total*99/100].Microseconds())/1000, "ms-p99")
		b.ReportMetric(float64(all[total/2].Microseconds())/1000, "ms-p50")
	}
	b.ReportMetric(float64(rssKB)/1024, "MB-rss")
	b.ReportMetric(float64(after-before), "goroutines-left")
	if after > before {
		b.Errorf("%d goroutines before the clients, %d after they left", before, after)
	}
}

// rss is the process's resident set in KiB, from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
