package fakeaws_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// fixedNow pins the fixtures' clock so expectations do not drift.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	mgmt    = "111111111111"
	member2 = "222222222222"
	member3 = "333333333333"
)

func start(t *testing.T, opts fakeaws.Options) *fakeaws.Server {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	srv := fakeaws.New(opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// staticCreds are dummy keys like the ones the plugin gets from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
var staticCreds = credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")

// cfg is an SDK config aimed at url. Retries are those of the plugin
// (standard retryer without client-side rate limiting) with a 1ms backoff so
// throttling tests stay fast.
func cfg(url, region string, attempts int) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  staticCreds,
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

func s3Client(c aws.Config) *s3.Client {
	return s3.NewFromConfig(c, func(o *s3.Options) { o.UsePathStyle = true })
}

// allPages drains an SDK paginator (pass its HasMorePages and NextPage),
// failing the test on the first error.
func allPages[Out, Opts any](t *testing.T, more func() bool, next func(context.Context, ...func(*Opts)) (Out, error)) []Out {
	t.Helper()
	var pages []Out
	for more() {
		out, err := next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out)
	}
	return pages
}

// apiError asserts err is an AWS API error with code (and HTTP status if
// non-zero).
func apiError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	if status != 0 {
		var re *smithyhttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != status {
			t.Fatalf("want HTTP %d, got %v", status, err)
		}
	}
}

func TestInventoryIsSeededAndDeterministic(t *testing.T) {
	a := fakeaws.New(fakeaws.Options{Seed: 7, Now: fixedNow}).Inventory()
	b := fakeaws.New(fakeaws.Options{Seed: 7, Now: fixedNow}).Inventory()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different inventories")
	}
	c := fakeaws.New(fakeaws.Options{Seed: 8, Now: fixedNow}).Inventory()
	if reflect.DeepEqual(a.Stacks, c.Stacks) {
		t.Fatal("different seeds gave the same stacks")
	}

	if got := len(a.Accounts); got != 3 || a.Accounts[0].ID != mgmt || !a.Accounts[0].Management {
		t.Fatalf("accounts = %+v", a.Accounts)
	}
	if !slices.Equal(a.Regions, []string{"us-east-1", "eu-west-1", "us-west-2"}) {
		t.Fatalf("regions = %v", a.Regions)
	}
	counts := map[string][2]int{
		"stacks":    {len(a.Stacks), fakeaws.DefaultStacks},
		"instances": {len(a.Instances), fakeaws.DefaultInstances},
		"buckets":   {len(a.Buckets), fakeaws.DefaultBuckets},
		"roles":     {len(a.Roles), fakeaws.DefaultRoles + 3}, // + OrganizationAccountAccessRole per account
		"users":     {len(a.Users), fakeaws.DefaultUsers},
		"vpcs":      {len(a.Vpcs), 9},
		"groups":    {len(a.SecurityGroups), 18},
	}
	for name, c := range counts {
		if c[0] != c[1] {
			t.Errorf("%s: %d, want %d", name, c[0], c[1])
		}
	}

	// Partly compliant tags and update times spread over ~200 days.
	var noEnv, neverUpdated, recent int
	for _, s := range a.Stacks {
		if _, ok := s.Tags["environment"]; !ok {
			noEnv++
		}
		if s.LastUpdated.IsZero() {
			neverUpdated++
			continue
		}
		age := fixedNow.Sub(s.LastUpdated)
		if age < 0 || age > 200*24*time.Hour {
			t.Fatalf("stack %s updated %v ago", s.Name, age)
		}
		if age < 90*24*time.Hour {
			recent++
		}
	}
	if noEnv == 0 || noEnv == len(a.Stacks) || neverUpdated == 0 || recent == 0 || recent == len(a.Stacks) {
		t.Fatalf("fixtures not mixed: noEnv=%d neverUpdated=%d recent=%d of %d", noEnv, neverUpdated, recent, len(a.Stacks))
	}
	var public, private int
	for _, b := range a.Buckets {
		if b.Public {
			public++
		} else {
			private++
		}
	}
	if public == 0 || private == 0 {
		t.Fatalf("buckets: %d public, %d private", public, private)
	}
}

func TestCountsScaleAndNone(t *testing.T) {
	inv := fakeaws.New(fakeaws.Options{Now: fixedNow, Stacks: 100_000, Instances: -1, Buckets: -1, Accounts: []string{"123456789012"}, Regions: []string{"eu-west-1"}}).Inventory()
	if len(inv.Stacks) != 100_000 || len(inv.Instances) != 0 || len(inv.Buckets) != 0 {
		t.Fatalf("stacks=%d instances=%d buckets=%d", len(inv.Stacks), len(inv.Instances), len(inv.Buckets))
	}
	if inv.Stacks[0].Account != "123456789012" || inv.Stacks[0].Region != "eu-west-1" {
		t.Fatalf("stack scope = %s/%s", inv.Stacks[0].Account, inv.Stacks[0].Region)
	}
}

func TestRequestLogRecordsServiceActionRegionAccount(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	if _, err := sts.NewFromConfig(cfg(srv.URL(), "us-east-1", 3)).GetCallerIdentity(ctx, nil); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	if len(srv.Requests()) != 0 {
		t.Fatal("ResetRequests left entries")
	}

	ec := ec2.NewFromConfig(cfg(srv.AccountURL(member2), "eu-west-1", 3))
	if _, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	got := srv.Requests()
	if len(got) != 2 {
		t.Fatalf("requests = %+v", got)
	}
	for i, action := range []string{"DescribeVpcs", "DescribeSecurityGroups"} {
		r := got[i]
		if r.Service != "ec2" || r.Action != action || r.Region != "eu-west-1" || r.Account != member2 ||
			r.AccessKey != "AKIAIOSFODNN7EXAMPLE" || r.Status != http.StatusOK || r.Throttled || r.Time.IsZero() {
			t.Errorf("request %d = %+v", i, r)
		}
	}
}

func TestLatency(t *testing.T) {
	srv := start(t, fakeaws.Options{Latency: 60 * time.Millisecond})
	begin := time.Now()
	if _, err := sts.NewFromConfig(cfg(srv.URL(), "us-east-1", 1)).GetCallerIdentity(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 60*time.Millisecond {
		t.Fatalf("call took %v, want >= 60ms", d)
	}
}

func TestThrottlingErrorShapes(t *testing.T) {
	// Every first attempt is throttled; with retries off the error surfaces.
	srv := start(t, fakeaws.Options{ThrottleRate: 1})
	ctx := context.Background()
	c := cfg(srv.URL(), "us-east-1", 1)

	_, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, nil)
	apiError(t, err, "Throttling", http.StatusBadRequest)
	_, err = ec2.NewFromConfig(c).DescribeVpcs(ctx, nil)
	apiError(t, err, "RequestLimitExceeded", http.StatusServiceUnavailable)
	_, err = organizations.NewFromConfig(c).DescribeOrganization(ctx, nil)
	apiError(t, err, "TooManyRequestsException", http.StatusBadRequest)
	_, err = s3Client(c).ListBuckets(ctx, nil)
	apiError(t, err, "SlowDown", http.StatusServiceUnavailable)

	for _, r := range srv.Requests() {
		if !r.Throttled {
			t.Errorf("not marked throttled: %+v", r)
		}
	}
}

func TestThrottlingIsRecoveredBySDKRetries(t *testing.T) {
	run := func() []bool {
		srv := start(t, fakeaws.Options{Seed: 3, ThrottleRate: 0.4})
		ctx := context.Background()
		// Three attempts: the fake never throttles one request more than
		// twice in a row, so the SDK's default attempt count is enough.
		c := cfg(srv.URL(), "eu-west-1", 3)
		ec := ec2.NewFromConfig(c)
		p := ec2.NewDescribeInstancesPaginator(ec, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		var n int
		for _, out := range allPages(t, p.HasMorePages, p.NextPage) {
			for _, r := range out.Reservations {
				n += len(r.Instances)
			}
		}
		want := 0
		for _, in := range srv.Inventory().Instances {
			if in.Account == mgmt && in.Region == "eu-west-1" {
				want++
			}
		}
		if n != want {
			t.Fatalf("listed %d instances through throttling, want %d", n, want)
		}
		for range 20 {
			if _, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		var pattern []bool
		throttled := 0
		for _, r := range srv.Requests() {
			pattern = append(pattern, r.Throttled)
			if r.Throttled {
				throttled++
			}
		}
		if throttled == 0 || throttled == len(pattern) {
			t.Fatalf("throttled %d of %d calls", throttled, len(pattern))
		}
		return pattern
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Fatalf("throttling pattern differs between runs with the same seed:\n%v\n%v", a, b)
	}
}

func TestUnknownActionsAnswerEachProtocolsError(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	c := cfg(srv.URL(), "us-east-1", 1)

	_, err := sts.NewFromConfig(c).GetSessionToken(ctx, nil)
	apiError(t, err, "InvalidAction", http.StatusBadRequest)
	_, err = ec2.NewFromConfig(c).DescribeImages(ctx, nil)
	apiError(t, err, "InvalidAction", http.StatusBadRequest)
	_, err = organizations.NewFromConfig(c).ListRoots(ctx, nil)
	apiError(t, err, "UnknownOperationException", http.StatusBadRequest)
	_, err = s3Client(c).GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: aws.String(srv.Inventory().Buckets[0].Name)})
	apiError(t, err, "NotImplemented", http.StatusNotImplemented)

	var actions []string
	for _, r := range srv.Requests() {
		actions = append(actions, r.Service+":"+r.Action)
	}
	want := []string{"sts:GetSessionToken", "ec2:DescribeImages", "organizations:ListRoots", "s3:GetBucketAccelerateConfiguration"}
	if !slices.Equal(actions, want) {
		t.Fatalf("logged %v, want %v", actions, want)
	}
}

func TestPluginConfig(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	got := srv.PluginConfig(member3, "us-east-1", "eu-west-1")
	for _, want := range []string{
		`endpoint_url        = "` + srv.AccountURL(member3) + `"`,
		"s3_force_path_style = true",
		`regions             = ["us-east-1", "eu-west-1"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if srv.AccountURL(member3) == srv.URL() || srv.AccountURL("999999999999") != "" {
		t.Fatal("account URLs are not distinct")
	}
}

// pluginConfig builds an aws.Config exactly the way steampipe-plugin-aws
// v1.30.0 does when endpoint_url is set (aws/service.go,
// getClientWithMaxRetries): LoadDefaultConfig with a legacy endpoint resolver
// and nothing else, so credentials come from the environment, then the
// plugin's retryer and the region.
func pluginConfig(t *testing.T, endpoint, region string, maxRetries int) aws.Config {
	t.Helper()
	//lint:ignore SA1019 the plugin uses the deprecated resolver; this reproduces it.
	resolver := aws.EndpointResolverWithOptionsFunc(func(service, region string, options ...any) (aws.Endpoint, error) {
		//lint:ignore SA1019 as above.
		return aws.Endpoint{PartitionID: "aws", URL: endpoint, SigningRegion: region}, nil
	})
	//lint:ignore SA1019 as above.
	c, err := config.LoadDefaultConfig(context.Background(), config.WithEndpointResolverWithOptions(resolver))
	if err != nil {
		t.Fatal(err)
	}
	retryer := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxRetries
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
	})
	c.Retryer = func() aws.Retryer { return retry.AddWithErrorCodes(retryer, "UnknownError") }
	c.Region = region
	return c
}

// What the plugin does for a connection with regions = ["us-east-1",
// "eu-west-1"] and endpoint_url, up to the first rows of aws_s3_bucket and
// aws_cloudformation_stack, with throttling on.
func TestPluginStartupPath(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	srv := start(t, fakeaws.Options{Seed: 11, ThrottleRate: 0.3})
	ctx := context.Background()
	url := srv.AccountURL(member2)

	// 1. The region list, from the default region with the low-retry client
	// (4 attempts).
	regions, err := ec2.NewFromConfig(pluginConfig(t, url, "us-east-1", 4)).DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, r := range regions.Regions {
		if aws.ToString(r.OptInStatus) != "not-opted-in" {
			active++
		}
	}
	if active != 3 {
		t.Fatalf("active regions = %d", active)
	}

	// 2. Account id and partition for the common columns.
	id, err := sts.NewFromConfig(pluginConfig(t, url, "us-east-1", 9)).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Account) != member2 || strings.Split(aws.ToString(id.Arn), ":")[1] != "aws" {
		t.Fatalf("caller identity: %v %+v", err, id)
	}

	// 3. aws_s3_bucket: list in the last-resort region, then per bucket an
	// anonymous region probe and calls in the bucket's region.
	newS3 := func(region string) *s3.Client {
		return s3.NewFromConfig(pluginConfig(t, url, region, 9), func(o *s3.Options) { o.UsePathStyle = true })
	}
	buckets, err := newS3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fakeaws.Bucket{}
	for _, b := range srv.Inventory().Buckets {
		if b.Account == member2 {
			want[b.Name] = b
		}
	}
	if len(buckets.Buckets) != len(want) {
		t.Fatalf("buckets = %d, want %d", len(buckets.Buckets), len(want))
	}
	for _, b := range buckets.Buckets {
		w := want[aws.ToString(b.Name)]
		region, err := manager.GetBucketRegion(ctx, newS3("us-east-1"), w.Name)
		if err != nil || region != w.Region {
			t.Fatalf("region of %s = %q (%v), want %s", w.Name, region, err, w.Region)
		}
		ps, err := newS3(region).GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: b.Name})
		if err == nil && aws.ToBool(ps.PolicyStatus.IsPublic) != w.Public {
			t.Fatalf("%s public = %v, want %v", w.Name, aws.ToBool(ps.PolicyStatus.IsPublic), w.Public)
		} else if err != nil && w.Policy != "" {
			t.Fatal(err)
		}
	}

	// 4. aws_cloudformation_stack in eu-west-1 only.
	srv.ResetRequests()
	p := cloudformation.NewListStacksPaginator(cloudformation.NewFromConfig(pluginConfig(t, url, "eu-west-1", 9)), &cloudformation.ListStacksInput{})
	n := 0
	for _, out := range allPages(t, p.HasMorePages, p.NextPage) {
		n += len(out.StackSummaries)
	}
	wantStacks := 0
	for _, s := range srv.Inventory().Stacks {
		if s.Account == member2 && s.Region == "eu-west-1" {
			wantStacks++
		}
	}
	if n != wantStacks {
		t.Fatalf("stacks = %d, want %d", n, wantStacks)
	}
	for _, r := range srv.Requests() {
		if r.Region != "eu-west-1" || r.Service != "cloudformation" || r.Account != member2 {
			t.Fatalf("unexpected request %+v", r)
		}
	}
}

func TestUnknownServiceAnswersAParsableError(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/eu-west-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
	}

	// A REST-JSON service (Lambda): JSON error with X-Amzn-ErrorType.
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/2015-03-31/functions", nil)
	req.Header.Set("Authorization", auth("lambda"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" ||
		!strings.Contains(string(body), `"__type":"UnknownOperationException"`) || !strings.Contains(string(body), "lambda") {
		t.Fatalf("lambda: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// A query service (SNS): query-protocol XML.
	req, _ = http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader("Action=ListTopics&Version=2010-03-31"))
	req.Header.Set("Authorization", auth("sns"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "<Code>InvalidAction</Code>") || !strings.Contains(string(body), "<ErrorResponse") {
		t.Fatalf("sns: %d %s", resp.StatusCode, body)
	}

	got := srv.Requests()
	if len(got) != 2 || got[0].Service != "lambda" || got[0].Region != "eu-west-1" || got[1].Service != "sns" || got[1].Action != "ListTopics" || got[1].Status != http.StatusBadRequest {
		t.Fatalf("requests = %+v", got)
	}
}

// The plugin calls in parallel from many goroutines; run with -race.
func TestConcurrentClients(t *testing.T) {
	srv := start(t, fakeaws.Options{ThrottleRate: 0.2})
	ctx := context.Background()
	inv := srv.Inventory()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := inv.Accounts[i%3].ID
			region := inv.Regions[i%len(inv.Regions)]
			c := cfg(srv.AccountURL(acct), region, 3)
			if _, err := ec2.NewFromConfig(c).DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
				errs <- err
			}
			if _, err := s3Client(c).ListBuckets(ctx, nil); err != nil {
				errs <- err
			}
			b := inv.Buckets[i%len(inv.Buckets)]
			tagging := &s3.PutBucketTaggingInput{Bucket: aws.String(b.Name), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("n"), Value: aws.String("1")}}}}
			if _, err := s3Client(c).PutBucketTagging(ctx, tagging); err != nil {
				errs <- err
			}
			role := "arn:aws:iam::" + inv.Accounts[(i+1)%3].ID + ":role/OrganizationAccountAccessRole"
			if _, err := sts.NewFromConfig(c).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s")}); err != nil {
				errs <- err
			}
			_ = srv.Inventory()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ok := 0
	for _, r := range srv.Requests() {
		if !r.Throttled {
			ok++
		}
	}
	if ok != 16*4 {
		t.Fatalf("%d successful calls, want %d", ok, 16*4)
	}
}

func TestThrottlingNeverExhaustsThreeAttempts(t *testing.T) {
	srv := start(t, fakeaws.Options{ThrottleRate: 1})
	c := cfg(srv.URL(), "us-east-1", 3)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Identical concurrent calls: each is throttled exactly twice.
			if _, err := sts.NewFromConfig(c).GetCallerIdentity(context.Background(), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	throttled, ok := 0, 0
	for _, r := range srv.Requests() {
		if r.Throttled {
			throttled++
		} else {
			ok++
		}
	}
	if throttled != 40 || ok != 20 {
		t.Fatalf("throttled %d, answered %d; want 40 and 20", throttled, ok)
	}
}
