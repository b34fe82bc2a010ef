package bench

import (
	"context"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// BenchmarkAWSNewToFirstCall times query.New with the real AWS plugin, pointed at a local
// fake endpoint, up to the moment the first API request of
// `select name from aws_cloudformation_stack` reaches the endpoint. One op is one engine.
func BenchmarkAWSNewToFirstCall(b *testing.B) {
	// Dummy credentials, and nothing read from the host's ~/.aws or instance metadata.
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDSPOUTBENCH")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "spout-bench-secret")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	b.Setenv("AWS_CONFIG_FILE", "/dev/null")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		b.Setenv(k, "")
	}
	srv := fakeaws.New(fakeaws.Options{Seed: 1})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	config := srv.PluginConfig("", "us-east-1")
	ctx := context.Background()

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv.ResetRequests()
		start := time.Now()
		eng, err := query.New(ctx,
			query.WithPlugin("aws", aws.Plugin),
			query.WithConnection("aws", "aws", config),
			query.WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		rows, err := eng.Query(ctx, "select name from aws_cloudformation_stack")
		if err != nil {
			b.Fatal(err)
		}
		for len(srv.Requests()) == 0 {
			if time.Since(start) > time.Minute {
				b.Fatal("no request reached the fake endpoint after a minute")
			}
			time.Sleep(200 * time.Microsecond)
		}
		total += time.Since(start)
		b.StopTimer()
		first := srv.Requests()[0]
		if i == 0 {
			b.Logf("first request: %s %s in %s", first.Service, first.Action, first.Region)
		}
		// Read to the end once, so a broken setup cannot pass as fast.
		if i == 0 {
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				b.Fatal("aws_cloudformation_stack returned no rows")
			}
		}
		rows.Close()
		eng.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-call")
}
