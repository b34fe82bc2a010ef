package fakeaws_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// The calls of aws_cloudformation_stack: ListStacks, then DescribeStacks
// (by name: tags and most columns), GetTemplate and DescribeStackResources
// per stack.
func TestCloudFormationStacks(t *testing.T) {
	srv := start(t, fakeaws.Options{Stacks: 600, Accounts: []string{mgmt, member2}, Regions: []string{"us-east-1", "eu-west-1"}})
	ctx := context.Background()
	client := cloudformation.NewFromConfig(cfg(srv.AccountURL(member2), "eu-west-1", 3))

	want := map[string]fakeaws.Stack{}
	for _, s := range srv.Inventory().Stacks {
		if s.Account == member2 && s.Region == "eu-west-1" {
			want[s.Name] = s
		}
	}
	if len(want) <= 100 {
		t.Fatalf("only %d stacks in scope; pagination untested", len(want))
	}

	p := cloudformation.NewListStacksPaginator(client, &cloudformation.ListStacksInput{})
	var summaries []types.StackSummary
	pages := allPages(t, p.HasMorePages, p.NextPage)
	for _, out := range pages {
		summaries = append(summaries, out.StackSummaries...)
	}
	if len(summaries) != len(want) || len(pages) != (len(want)+99)/100 {
		t.Fatalf("listed %d stacks in %d pages, want %d", len(summaries), len(pages), len(want))
	}

	for _, sum := range summaries[:20] {
		w := want[aws.ToString(sum.StackName)]
		if aws.ToString(sum.StackId) != w.ID || string(sum.StackStatus) != w.Status || !aws.ToTime(sum.CreationTime).Equal(w.Created) {
			t.Fatalf("summary %+v, want %+v", sum, w)
		}
		out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: sum.StackName})
		if err != nil {
			t.Fatal(err)
		}
		st := out.Stacks[0]
		tags := map[string]string{}
		for _, tg := range st.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if !maps.Equal(tags, w.Tags) {
			t.Fatalf("stack %s tags = %v, want %v", w.Name, tags, w.Tags)
		}
		if w.LastUpdated.IsZero() != (st.LastUpdatedTime == nil) || (st.LastUpdatedTime != nil && !st.LastUpdatedTime.Equal(w.LastUpdated)) {
			t.Fatalf("stack %s LastUpdatedTime = %v, want %v", w.Name, st.LastUpdatedTime, w.LastUpdated)
		}

		tpl, err := client.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: sum.StackName})
		if err != nil || !json.Valid([]byte(aws.ToString(tpl.TemplateBody))) {
			t.Fatalf("template: %v %q", err, aws.ToString(tpl.TemplateBody))
		}
		res, err := client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: sum.StackName})
		if err != nil || len(res.StackResources) != 1 || aws.ToString(res.StackResources[0].StackId) != w.ID {
			t.Fatalf("resources: %v %+v", err, res)
		}
	}

	// DescribeStacks without a name lists every stack, paginated.
	dp := cloudformation.NewDescribeStacksPaginator(client, &cloudformation.DescribeStacksInput{})
	n := 0
	for _, out := range allPages(t, dp.HasMorePages, dp.NextPage) {
		n += len(out.Stacks)
	}
	if n != len(want) {
		t.Fatalf("DescribeStacks listed %d, want %d", n, len(want))
	}

	// The status qual the plugin pushes down.
	out, err := client.ListStacks(ctx, &cloudformation.ListStacksInput{StackStatusFilter: []types.StackStatus{types.StackStatusCreateComplete}})
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, w := range want {
		if w.Status == "CREATE_COMPLETE" {
			created++
		}
	}
	if len(out.StackSummaries) != min(created, 100) || created == 0 {
		t.Fatalf("CREATE_COMPLETE stacks = %d, want %d", len(out.StackSummaries), created)
	}

	_, err = client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("missing")})
	apiError(t, err, "ValidationError", http.StatusBadRequest)

	// Another region of the same account has other stacks.
	other := cloudformation.NewFromConfig(cfg(srv.AccountURL(member2), "us-east-1", 3))
	_, err = other.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: summaries[0].StackName})
	apiError(t, err, "ValidationError", http.StatusBadRequest)
}
