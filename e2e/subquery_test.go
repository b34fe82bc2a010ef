package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/query"
)

// aws_s3_object needs bucket_name. The documented way to list the objects of some buckets
// is `bucket_name in (select name from aws_s3_bucket where ...)`: the subquery runs first
// and the object scan lists only the buckets it names.
func TestInSubqueryGivesRequiredBucketNames(t *testing.T) {
	srv := startFake(t, fakeaws.Options{Seed: 5, Buckets: 12})
	inv := srv.Inventory()
	acct := inv.Accounts[0].ID
	ctx := context.Background()
	var want []string
	buckets := 0
	for _, b := range inv.Buckets {
		if b.Account != acct {
			continue
		}
		buckets++
		client := s3.New(s3.Options{
			Region:       b.Region,
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDSPOUTTEST", "spout-test-secret", ""),
			BaseEndpoint: awssdk.String(srv.AccountURL(acct)),
			UsePathStyle: true,
		})
		key := "report-" + b.Name + ".json"
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(b.Name), Key: awssdk.String(key), Body: strings.NewReader("{}")}); err != nil {
			t.Fatalf("putting an object into %s: %v", b.Name, err)
		}
		if b.Public {
			want = append(want, b.Name+"/"+key)
		}
	}
	if len(want) == 0 || len(want) == buckets {
		t.Fatalf("the seeded account has %d public buckets of %d; the test needs some of each", len(want), buckets)
	}
	sort.Strings(want)

	eng := newEngine(t, query.WithConnection("aws", "aws", srv.PluginConfig(acct)))
	srv.ResetRequests()
	rows := collect(t, eng, `select bucket_name, key from aws_s3_object
where bucket_name in (select name from aws_s3_bucket where bucket_policy_is_public)`)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprint(r[0])+"/"+fmt.Sprint(r[1]))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got objects %v\nwant %v", got, want)
	}
	lists := 0
	for _, r := range srv.Requests() {
		if r.Service == "s3" && strings.HasPrefix(r.Action, "ListObjects") {
			lists++
		}
	}
	t.Logf("%d of %d buckets public; %d object listings", len(want), buckets, lists)
	if lists != len(want) {
		t.Errorf("%d object listings, want one per public bucket (%d)", lists, len(want))
	}
}
