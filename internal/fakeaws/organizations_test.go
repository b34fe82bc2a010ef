package fakeaws_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/spoutdev/spout/internal/fakeaws"
)

func TestOrganizations(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	ctx := context.Background()
	client := organizations.NewFromConfig(cfg(srv.URL(), "us-east-1", 3))

	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{MaxResults: aws.Int32(2)})
	var ids []string
	pages := allPages(t, p.HasMorePages, p.NextPage)
	for _, out := range pages {
		for _, a := range out.Accounts {
			if a.Status != "ACTIVE" || a.JoinedTimestamp == nil || aws.ToString(a.Email) == "" {
				t.Errorf("account %+v", a)
			}
			ids = append(ids, aws.ToString(a.Id))
		}
	}
	if !slices.Equal(ids, []string{mgmt, member2, member3}) || len(pages) != 2 {
		t.Fatalf("accounts = %v in %d pages", ids, len(pages))
	}

	org, err := client.DescribeOrganization(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(org.Organization.MasterAccountId) != mgmt || org.Organization.FeatureSet != "ALL" ||
		len(aws.ToString(org.Organization.Id)) != 12 {
		t.Fatalf("organization = %+v", org.Organization)
	}

	// Members can describe the organization but not list its accounts.
	member := organizations.NewFromConfig(cfg(srv.AccountURL(member2), "us-east-1", 3))
	if _, err := member.DescribeOrganization(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = member.ListAccounts(ctx, nil)
	apiError(t, err, "AccessDeniedException", http.StatusBadRequest)
}
