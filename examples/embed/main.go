// Command embed runs Spout's query engine inside another Go program: the tagging-policy
// query over the AWS plugin, rows scanned into Go values, no runner, no sinks.
//
//	go run ./examples/embed
//
// The connection's settings are the body of a Steampipe .spc connection block, from
// SPOUT_AWS_CONFIG (default: every enabled region); credentials come from the usual AWS
// chain.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// taggingPolicy finds stacks changed in the last 90 days whose environment tag is missing
// or off the company's vocabulary.
const taggingPolicy = `select account_id, region, name, last_updated_time, tags ->> 'environment' as environment
from aws_cloudformation_stack
where extract(day from current_timestamp - last_updated_time)::int < 90
  and coalesce(tags ->> 'environment', '') not in ('prod', 'staging', 'dev')
order by account_id, region, name`

// stack is one row of the result.
type stack struct {
	Account     string    `json:"account_id"`
	Region      string    `json:"region"`
	Name        string    `json:"name"`
	LastUpdated time.Time `json:"last_updated_time"`
	Environment *string   `json:"environment"` // NULL when the tag is missing
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	hcl := os.Getenv("SPOUT_AWS_CONFIG")
	if hcl == "" {
		hcl = `regions = ["*"]`
	}
	if err := run(ctx, hcl, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// run prints every stack that breaks the policy as a JSON line.
func run(ctx context.Context, hcl string, out io.Writer) error {
	eng, err := query.New(ctx,
		query.WithPlugin("aws", aws.Plugin),
		query.WithConnection("aws", "aws", hcl),
		query.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	if err != nil {
		return fmt.Errorf("starting the engine: %w", err)
	}
	defer eng.Close()

	rows, err := eng.Query(ctx, taggingPolicy)
	if err != nil {
		return fmt.Errorf("querying: %w", err)
	}
	defer rows.Close()
	enc := json.NewEncoder(out)
	for rows.Next() {
		var s stack
		if err := rows.Scan(&s.Account, &s.Region, &s.Name, &s.LastUpdated, &s.Environment); err != nil {
			return err
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return rows.Err()
}
