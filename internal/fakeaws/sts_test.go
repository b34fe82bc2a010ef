package fakeaws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/spoutdev/spout/internal/fakeaws"
)

func TestGetCallerIdentity(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	tests := []struct {
		url, account string
	}{
		{srv.URL(), mgmt},
		{srv.AccountURL(member2), member2},
		{srv.AccountURL(member3), member3},
	}
	for _, tt := range tests {
		out, err := sts.NewFromConfig(cfg(tt.url, "us-east-1", 3)).GetCallerIdentity(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Account) != tt.account || aws.ToString(out.Arn) != "arn:aws:iam::"+tt.account+":user/fakeaws" ||
			!strings.HasPrefix(aws.ToString(out.UserId), "AIDA") {
			t.Errorf("%s: identity = %s %s %s", tt.url, aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
		}
	}
}

func TestAssumeRoleSwitchesAccount(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	base := cfg(srv.URL(), "eu-west-1", 3)
	roleARN := "arn:aws:iam::" + member3 + ":role/OrganizationAccountAccessRole"

	out, err := sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("spout")})
	if err != nil {
		t.Fatal(err)
	}
	key := aws.ToString(out.Credentials.AccessKeyId)
	if len(key) != 20 || !strings.HasPrefix(key, "ASIA"+member3) || aws.ToString(out.Credentials.SessionToken) == "" ||
		aws.ToString(out.Credentials.SecretAccessKey) == "" || out.Credentials.Expiration == nil {
		t.Fatalf("credentials = %+v", out.Credentials)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::"+member3+":assumed-role/OrganizationAccountAccessRole/spout" {
		t.Fatalf("assumed role arn = %s", got)
	}

	// The SDK's own assume-role provider, as the plugin uses for profiles
	// with role_arn.
	assumed := base.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN))
	id, err := sts.NewFromConfig(assumed).GetCallerIdentity(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != member3 || !strings.Contains(aws.ToString(id.Arn), ":assumed-role/OrganizationAccountAccessRole/") {
		t.Fatalf("identity after AssumeRole = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}

	// Later calls see the assumed account's inventory.
	want := map[string]bool{}
	for _, in := range srv.Inventory().Instances {
		if in.Account == member3 && in.Region == "eu-west-1" {
			want[in.ID] = true
		}
	}
	insts, err := ec2.NewFromConfig(assumed).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range insts.Reservations {
		if aws.ToString(r.OwnerId) != member3 {
			t.Fatalf("reservation owner %s", aws.ToString(r.OwnerId))
		}
		for _, in := range r.Instances {
			if !want[aws.ToString(in.InstanceId)] {
				t.Fatalf("instance %s is not %s's", aws.ToString(in.InstanceId), member3)
			}
			got++
		}
	}
	if got != len(want) {
		t.Fatalf("assumed role saw %d instances, want %d", got, len(want))
	}

	var accounts []string
	for _, r := range srv.Requests() {
		accounts = append(accounts, r.Service+":"+r.Account)
	}
	if accounts[len(accounts)-1] != "ec2:"+member3 {
		t.Fatalf("request log accounts = %v", accounts)
	}
}

func TestDenyAssume(t *testing.T) {
	denied := "arn:aws:iam::" + member2 + ":role/spout-query"
	srv := start(t, fakeaws.Options{DenyAssume: []string{denied, member3}})
	client := sts.NewFromConfig(cfg(srv.URL(), "us-east-1", 3))
	ctx := context.Background()
	tests := []struct {
		arn  string
		code string
	}{
		{denied, "AccessDenied"},
		{"arn:aws:iam::" + member3 + ":role/anything", "AccessDenied"},
		{"arn:aws:iam::999999999999:role/spout-query", "AccessDenied"},
		{"not-an-arn", "ValidationError"},
		{"arn:aws:iam::" + member2 + ":role/other", ""},
	}
	for _, tt := range tests {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(tt.arn), RoleSessionName: aws.String("s")})
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s: %v", tt.arn, err)
		case tt.code == "AccessDenied":
			apiError(t, err, tt.code, http.StatusForbidden)
		case tt.code != "":
			apiError(t, err, tt.code, http.StatusBadRequest)
		}
	}
}

func TestAccountPathURLActsAsAccount(t *testing.T) {
	srv := start(t, fakeaws.Options{Seed: 3})
	ctx := context.Background()
	for _, acct := range []string{mgmt, member2, member3} {
		url := srv.AccountPathURL(acct)
		if want := srv.URL() + "/_account/" + acct; url != want {
			t.Fatalf("AccountPathURL(%s) = %q, want %q", acct, url, want)
		}
		id, err := sts.NewFromConfig(cfg(url, "us-east-1", 3)).GetCallerIdentity(ctx, nil)
		if err != nil || aws.ToString(id.Account) != acct {
			t.Fatalf("GetCallerIdentity through %s = %v, %v", url, id, err)
		}
		// Path-style S3 keeps the prefix in front of the bucket: the listing is
		// the account's, and the anonymous region probe finds the bucket.
		s3c := s3Client(cfg(url, "us-east-1", 3))
		out, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, b := range srv.Inventory().Buckets {
			if b.Account == acct {
				want++
				if len(out.Buckets) > 0 && aws.ToString(out.Buckets[0].Name) == b.Name {
					region, err := manager.GetBucketRegion(ctx, s3c, b.Name)
					if err != nil || region != b.Region {
						t.Fatalf("region of %s through %s = %q, %v; want %s", b.Name, url, region, err, b.Region)
					}
				}
			}
		}
		if len(out.Buckets) != want || want == 0 {
			t.Fatalf("ListBuckets through %s = %d buckets, want %d", url, len(out.Buckets), want)
		}
	}
	if got := srv.AccountPathURL("999999999999"); got != "" {
		t.Errorf("AccountPathURL(unknown) = %q, want empty", got)
	}
	resp, err := http.Get(srv.URL() + "/_account/999999999999/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account in path: status %d, want 404", resp.StatusCode)
	}
	// Credentials issued by AssumeRole still act as their own account,
	// whatever account the path names.
	assumed := cfg(srv.URL(), "us-east-1", 3)
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(assumed), "arn:aws:iam::"+member2+":role/R"))
	id, err := sts.NewFromConfig(assumed, func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.AccountPathURL(member3)) }).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Account) != member2 {
		t.Fatalf("assumed-role identity through %s's path = %v, %v; want %s", member3, id, err, member2)
	}
}
