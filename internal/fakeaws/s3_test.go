package fakeaws_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// The calls of `select name, region, bucket_policy_is_public, tags from
// aws_s3_bucket`: ListBuckets, an anonymous HeadBucket for the region, then
// GetBucketPolicyStatus and GetBucketTagging in the bucket's region.
func TestS3BucketsAsThePluginReadsThem(t *testing.T) {
	srv := start(t, fakeaws.Options{Buckets: 40})
	ctx := context.Background()
	inv := srv.Inventory()

	for _, acct := range []string{mgmt, member2} {
		client := s3Client(cfg(srv.AccountURL(acct), "us-east-1", 3))
		want := map[string]fakeaws.Bucket{}
		for _, b := range inv.Buckets {
			if b.Account == acct {
				want[b.Name] = b
			}
		}
		out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Buckets) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d buckets, want %d", acct, len(out.Buckets), len(want))
		}
		for _, b := range out.Buckets {
			w, ok := want[aws.ToString(b.Name)]
			if !ok || !aws.ToTime(b.CreationDate).Equal(w.Created) {
				t.Fatalf("bucket %+v, want %+v", b, w)
			}

			region, err := manager.GetBucketRegion(ctx, client, w.Name)
			if err != nil || region != w.Region {
				t.Fatalf("bucket %s region %q (%v), want %s", w.Name, region, err, w.Region)
			}

			regional := s3Client(cfg(srv.AccountURL(acct), region, 3))
			ps, err := regional.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: b.Name})
			if w.Policy == "" {
				apiError(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
			} else if err != nil || aws.ToBool(ps.PolicyStatus.IsPublic) != w.Public {
				t.Fatalf("bucket %s policy status: %v %+v, want public=%v", w.Name, err, ps, w.Public)
			}

			tg, err := regional.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b.Name})
			if w.Tags == nil {
				apiError(t, err, "NoSuchTagSet", http.StatusNotFound)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				tags := map[string]string{}
				for _, tag := range tg.TagSet {
					tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				if !maps.Equal(tags, w.Tags) {
					t.Fatalf("bucket %s tags = %v, want %v", w.Name, tags, w.Tags)
				}
			}
		}
	}

	got := map[string]int{}
	for _, r := range srv.Requests() {
		got[r.Action]++
		if r.Action == "HeadBucket" && (r.Account != "" || r.Region != "") {
			t.Errorf("HeadBucket should be anonymous: %+v", r)
		}
	}
	if got["ListBuckets"] != 2 || got["HeadBucket"] == 0 || got["HeadBucket"] != got["GetBucketPolicyStatus"] || got["HeadBucket"] != got["GetBucketTagging"] {
		t.Fatalf("actions = %v", got)
	}
}

// The rest of aws_s3_bucket's hydrate calls for select *.
func TestS3BucketConfiguration(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	var public, blocked *fakeaws.Bucket
	inv := srv.Inventory()
	for i, b := range inv.Buckets {
		switch {
		case b.Public:
			public = &inv.Buckets[i]
		case b.BlockPublicAccess != nil && *b.BlockPublicAccess:
			blocked = &inv.Buckets[i]
		}
	}
	if public == nil || blocked == nil {
		t.Fatal("fixtures lack a public or a blocked bucket")
	}
	client := s3Client(cfg(srv.AccountURL(public.Account), public.Region, 3))
	name := aws.String(public.Name)

	pol, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: name})
	if err != nil || aws.ToString(pol.Policy) != public.Policy || !strings.Contains(public.Policy, `"Principal":"*"`) {
		t.Fatalf("policy: %v %q", err, aws.ToString(pol.Policy))
	}
	pab, err := s3Client(cfg(srv.AccountURL(blocked.Account), blocked.Region, 3)).GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(blocked.Name)})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Fatalf("public access block: %v %+v", err, pab)
	}
	_, err = client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: name})
	apiError(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)

	acl, err := client.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: name})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl || aws.ToString(acl.Owner.ID) == "" {
		t.Fatalf("acl: %v %+v", err, acl)
	}
	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: name})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("encryption: %v %+v", err, enc)
	}
	own, err := client.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: name})
	if err != nil || own.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("ownership: %v %+v", err, own)
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: name})
	if err != nil || ver.Status != "" {
		t.Fatalf("versioning: %v %+v", err, ver)
	}
	if _, err := client.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: name}); err != nil {
		t.Fatal(err)
	}
	loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: name})
	wantLoc := public.Region
	if wantLoc == "us-east-1" {
		wantLoc = ""
	}
	if err != nil || string(loc.LocationConstraint) != wantLoc {
		t.Fatalf("location: %v %q", err, loc.LocationConstraint)
	}

	// The "not configured" answers the plugin turns into empty columns.
	_, err = client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: name})
	apiError(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
	_, err = client.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: name})
	apiError(t, err, "ReplicationConfigurationNotFoundError", http.StatusNotFound)
	_, err = client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: name})
	apiError(t, err, "ObjectLockConfigurationNotFoundError", http.StatusNotFound)
	_, err = client.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: name})
	apiError(t, err, "NoSuchWebsiteConfiguration", http.StatusNotFound)
	_, err = client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("no-such-bucket")})
	apiError(t, err, "NoSuchBucket", http.StatusNotFound)
}

func TestS3WritesAndObjects(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	client := s3Client(cfg(srv.AccountURL(member2), "eu-west-1", 3))
	bucket := aws.String("spout-results")

	// Signed for us-east-1, as through S3's global endpoint: the bucket's region can only
	// come from the LocationConstraint.
	_, err := s3Client(cfg(srv.AccountURL(member2), "us-east-1", 3)).CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    bucket,
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("runs/1/out.jsonl"), Body: strings.NewReader(`{"a":1}` + "\n")}); err != nil {
		t.Fatal(err)
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("runs/1/out.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != `{"a":1}`+"\n" {
		t.Fatalf("object = %q", body)
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("runs/")})
	if err != nil || len(list.Contents) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}

	_, err = client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("environment"), Value: aws.String("prod")}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::spout-results/*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}

	var created *fakeaws.Bucket
	for _, b := range srv.Inventory().Buckets {
		if b.Name == "spout-results" {
			created = &b
		}
	}
	if created == nil || created.Account != member2 || created.Region != "eu-west-1" || !created.Public || created.Tags["environment"] != "prod" {
		t.Fatalf("created bucket in inventory = %+v", created)
	}
	ps, err := client.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: bucket})
	if err != nil || !aws.ToBool(ps.PolicyStatus.IsPublic) {
		t.Fatalf("policy status: %v %+v", err, ps)
	}

	// Other accounts do not list it.
	out, err := s3Client(cfg(srv.URL(), "eu-west-1", 3)).ListBuckets(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range out.Buckets {
		if aws.ToString(b.Name) == "spout-results" {
			t.Fatal("management account lists member's bucket")
		}
	}

	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("runs/1/out.jsonl")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	apiError(t, err, "NoSuchBucket", http.StatusNotFound)
}
