package fakeaws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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
