package e2e

import (
	"context"
	"testing"

	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// The origin story's query, verbatim, plans against the real AWS schema.
func TestTaggingPolicyVerbatimPlans(t *testing.T) {
	eng, err := query.New(context.Background(), query.WithPlugin("aws", aws.Plugin), query.WithConnection("aws", "aws", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	p, err := eng.Plan(context.Background(), `select name, tags ->> 'environment' as env
                            from aws_cloudformation_stack
                            where extract(day from current_timestamp - last_updated_time)::int < 90`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Columns) != 2 || p.Columns[0].Name != "name" || p.Columns[1].Name != "env" || p.Columns[1].Type != "text" {
		t.Fatalf("columns %+v", p.Columns)
	}
	if len(p.Scans) != 1 || p.Scans[0].Table != "aws_cloudformation_stack" {
		t.Fatalf("scans %+v", p.Scans)
	}
}
