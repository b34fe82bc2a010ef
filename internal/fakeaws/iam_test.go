package fakeaws_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// The calls of aws_iam_role: ListRoles, then GetRole, ListRolePolicies
// (+ GetRolePolicy), ListAttachedRolePolicies and ListInstanceProfilesForRole
// per role.
func TestIAMRoles(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	inv := srv.Inventory()

	for _, acct := range []string{mgmt, member2} {
		client := iam.NewFromConfig(cfg(srv.AccountURL(acct), "us-east-1", 3))
		want := map[string]fakeaws.Role{}
		for _, r := range inv.Roles {
			if r.Account == acct {
				want[r.Name] = r
			}
		}

		p := iam.NewListRolesPaginator(client, &iam.ListRolesInput{MaxItems: aws.Int32(3)})
		var roles []types.Role
		for _, out := range allPages(t, p.HasMorePages, p.NextPage) {
			roles = append(roles, out.Roles...)
		}
		if len(roles) != len(want) || len(roles) < 2 {
			t.Fatalf("%s: listed %d roles, want %d", acct, len(roles), len(want))
		}

		for _, r := range roles {
			w := want[aws.ToString(r.RoleName)]
			if aws.ToString(r.Arn) != w.ARN || aws.ToString(r.Path) != w.Path || !aws.ToTime(r.CreateDate).Equal(w.Created) {
				t.Fatalf("role %+v, want %+v", r, w)
			}
			// IAM URL-encodes policy documents.
			doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
			if err != nil || doc != w.AssumeRolePolicy || !json.Valid([]byte(doc)) {
				t.Fatalf("trust policy %q: %v", aws.ToString(r.AssumeRolePolicyDocument), err)
			}

			got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: r.RoleName})
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string]string{}
			for _, tg := range got.Role.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if !maps.Equal(tags, w.Tags) {
				t.Fatalf("role %s tags = %v, want %v", w.Name, tags, w.Tags)
			}

			att, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: r.RoleName})
			if err != nil {
				t.Fatal(err)
			}
			var arns []string
			for _, a := range att.AttachedPolicies {
				arns = append(arns, aws.ToString(a.PolicyArn))
			}
			if !slices.Equal(arns, w.AttachedPolicyARNs) {
				t.Fatalf("role %s attached = %v, want %v", w.Name, arns, w.AttachedPolicyARNs)
			}

			inl, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
			if err != nil {
				t.Fatal(err)
			}
			if len(inl.PolicyNames) != len(w.InlinePolicies) {
				t.Fatalf("role %s inline = %v", w.Name, inl.PolicyNames)
			}
			for _, name := range inl.PolicyNames {
				pol, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: r.RoleName, PolicyName: aws.String(name)})
				if err != nil {
					t.Fatal(err)
				}
				if doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument)); doc != w.InlinePolicies[name] {
					t.Fatalf("inline policy %s = %s", name, doc)
				}
			}

			ips, err := client.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: r.RoleName})
			if err != nil {
				t.Fatal(err)
			}
			if (len(ips.InstanceProfiles) == 1) != (w.InstanceProfileName != "") {
				t.Fatalf("role %s instance profiles = %+v", w.Name, ips.InstanceProfiles)
			}
		}

		_, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("missing")})
		apiError(t, err, "NoSuchEntity", http.StatusNotFound)
	}
}

func TestIAMUsersPoliciesSummaryAliases(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	inv := srv.Inventory()
	client := iam.NewFromConfig(cfg(srv.URL(), "us-east-1", 3))

	wantUsers, wantRoles := 0, 0
	for _, u := range inv.Users {
		if u.Account == mgmt {
			wantUsers++
		}
	}
	for _, r := range inv.Roles {
		if r.Account == mgmt {
			wantRoles++
		}
	}
	users, err := client.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != wantUsers || wantUsers == 0 {
		t.Fatalf("users: %v %d, want %d", err, len(users.Users), wantUsers)
	}

	for scope, want := range map[types.PolicyScopeType]int{types.PolicyScopeTypeLocal: 2, types.PolicyScopeTypeAws: 4, types.PolicyScopeTypeAll: 6} {
		p := iam.NewListPoliciesPaginator(client, &iam.ListPoliciesInput{Scope: scope, MaxItems: aws.Int32(1)})
		n := 0
		for _, out := range allPages(t, p.HasMorePages, p.NextPage) {
			n += len(out.Policies)
		}
		if n != want {
			t.Errorf("scope %s: %d policies, want %d", scope, n, want)
		}
	}

	sum, err := client.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if int(sum.SummaryMap["Roles"]) != wantRoles || int(sum.SummaryMap["Users"]) != wantUsers || sum.SummaryMap["Policies"] != 2 {
		t.Fatalf("summary = %v", sum.SummaryMap)
	}

	aliases, err := client.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{})
	if err != nil || !slices.Equal(aliases.AccountAliases, []string{inv.Accounts[0].Alias}) {
		t.Fatalf("aliases: %v %v", err, aliases)
	}
}
