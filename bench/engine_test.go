// Package bench holds Spout's benchmarks. Run them with
//
//	go test ./bench/ -run '^$' -bench . -benchtime 3x
//
// BenchmarkRowsThroughput and BenchmarkSDKThroughput scan scanRows rows per op and report
// rows/s; the New-to-first-call benchmarks build one engine per op and report the time from
// query.New to the first plugin call (test plugin) or the first API request (AWS plugin
// against internal/fakeaws) as ms/first-call.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// scanRows is how many rows one throughput op reads.
const scanRows = 200_000

// BenchmarkRowsThroughput reads the scanRows rows of test_big through Rows.Scan per op. The
// "count" case aggregates inside the SQL engine: the plugin scan without Rows.
func BenchmarkRowsThroughput(b *testing.B) {
	for _, bc := range []struct {
		name string
		sql  string
	}{
		{"rows", "select id, name, value from test_big"},
		{"count", "select count(*) from test_big"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			eng, err := query.New(ctx,
				query.WithPlugin("test", testplugin.Plugin),
				query.WithConnection("big", "test", fmt.Sprintf("big_rows = %d", scanRows)),
				query.WithLogger(quietLogger()))
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rows, err := eng.Query(ctx, bc.sql)
				if err != nil {
					b.Fatal(err)
				}
				var n, id, count int64
				var name string
				var value float64
				for rows.Next() {
					if bc.name == "count" {
						err = rows.Scan(&count)
					} else {
						err = rows.Scan(&id, &name, &value)
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				if bc.name == "count" {
					n = count
				}
				if n != scanRows {
					b.Fatalf("read %d rows, want %d", n, scanRows)
				}
			}
			b.ReportMetric(float64(scanRows*b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}

// countingStream receives a plugin's rows in-process and counts them.
type countingStream struct {
	grpc.ServerStream
	ctx context.Context
	n   int64
}

func (s *countingStream) Context() context.Context { return s.ctx }

func (s *countingStream) Send(r *proto.ExecuteResponse) error {
	if r != nil && r.Row != nil {
		s.n++
	}
	return nil
}

// BenchmarkSDKThroughput is the ceiling BenchmarkRowsThroughput can reach: the scanRows rows
// of test_big straight out of the SDK's plugin server per op, no SQL engine.
func BenchmarkSDKThroughput(b *testing.B) {
	b.Setenv("STEAMPIPE_LOG_LEVEL", "ERROR")
	b.Setenv("STEAMPIPE_FREE_MEM_INTERVAL", "0")
	srv := plugin.Server(&plugin.ServeOpts{PluginFunc: testplugin.Plugin})
	if _, err := srv.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs:        []*proto.ConnectionConfig{{Connection: "big", Plugin: "test", Config: fmt.Sprintf("big_rows = %d", scanRows)}},
		MaxCacheSizeMb: 1,
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.GetSchema(&proto.GetSchemaRequest{Connection: "big"}); err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		stream := &countingStream{ctx: context.Background()}
		err := srv.Execute(&proto.ExecuteRequest{
			Table:                 "test_big",
			Connection:            "big",
			CallId:                fmt.Sprintf("bench-%d", i),
			QueryContext:          &proto.QueryContext{Columns: []string{"id", "name", "value"}},
			ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{"big": {}},
		}, stream)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if stream.n != scanRows {
			b.Fatalf("read %d rows, want %d", stream.n, scanRows)
		}
	}
	b.ReportMetric(float64(scanRows*b.N)/elapsed.Seconds(), "rows/s")
}

// BenchmarkQueryNewToFirstCall times query.New with the test plugin up to the moment the
// plugin's List is called for the first query. One op is one engine.
func BenchmarkQueryNewToFirstCall(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		testplugin.Calls.Reset()
		start := time.Now()
		eng, err := query.New(ctx,
			query.WithPlugin("test", testplugin.Plugin),
			query.WithConnection("test", "test", ""),
			query.WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		rows, err := eng.Query(ctx, "select id, name from test_types")
		if err != nil {
			b.Fatal(err)
		}
		for len(testplugin.Calls.All()) == 0 {
			if time.Since(start) > 30*time.Second {
				b.Fatal("no plugin call after 30s")
			}
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(start)
		b.StopTimer()
		rows.Close()
		eng.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-call")
}
