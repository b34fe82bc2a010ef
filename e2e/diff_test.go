package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/runner"
)

// The story with the real AWS plugin: an alert webhook hears about a public bucket
// once, when it becomes public, and once more when it stops being public, not every run.
// The state lives in S3 (the fake's own), as a deployment without a database would keep it.
func TestDiffAlertsOncePerPublicBucket(t *testing.T) {
	const acct = "222222222222"
	srv := startFake(t, fakeaws.Options{Seed: 7, Accounts: []string{acct}, Regions: []string{"us-east-1"}, Buckets: 12})
	client := fakeS3(srv)
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awsv2.String("spout-state")}); err != nil {
		t.Fatal(err)
	}
	hook := newWebhookReceiver(t)
	t.Setenv("E2E_ENDPOINT", srv.URL())
	text := fmt.Sprintf(`
connections:
  aws:
    plugin: aws
    config: |
%s
sinks:
  alerts: {type: webhook, url: %s}
state: {type: s3, bucket: spout-state, prefix: diff/, endpoint: "${E2E_ENDPOINT}", path_style: true}
queries:
  - name: public_buckets
    sinks: [alerts]
    diff: {key: [name]}
    sql: select name, region, account_id from aws_s3_bucket where bucket_policy_is_public
`, indent(srv.PluginConfig(acct), "      "), hook.srv.URL)
	run := func() (*runner.Manifest, []string) {
		t.Helper()
		before := len(hook.received())
		m, _ := runConfig(t, text, runner.Options{})
		if m.ExitCode != 0 {
			t.Fatalf("exit %d: %+v", m.ExitCode, m.Queries)
		}
		var got []string
		for _, body := range hook.received()[before:] {
			for _, r := range body["rows"].([]any) {
				row := r.(map[string]any)
				got = append(got, fmt.Sprint(row["_spout_change"], ":", row["name"]))
			}
		}
		slices.Sort(got)
		return m, got
	}

	m, first := run()
	if len(first) == 0 || m.Queries[0].Diff.Added != int64(len(first)) {
		t.Fatalf("first run sent %v, diff %+v: the fixture should have public buckets", first, m.Queries[0].Diff)
	}
	for _, c := range first {
		if !strings.HasPrefix(c, "added:") {
			t.Errorf("first run: %s, want added", c)
		}
	}
	if _, again := run(); len(again) != 0 {
		t.Errorf("an unchanged inventory alerted again: %v", again)
	}

	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awsv2.String("new-public")}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::new-public/*"}]}`
	if _, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: awsv2.String("new-public"), Policy: awsv2.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, got := run(); !slices.Equal(got, []string{"added:new-public"}) {
		t.Errorf("after a bucket became public: %v, want one alert for it", got)
	}
	if _, err := client.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: awsv2.String("new-public")}); err != nil {
		t.Fatal(err)
	}
	if _, got := run(); !slices.Equal(got, []string{"removed:new-public"}) {
		t.Errorf("after it stopped being public: %v, want one removal", got)
	}
}
