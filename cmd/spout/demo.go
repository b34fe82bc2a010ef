//go:build !nodemo

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// demoQuery is the tagging-policy check of the origin story: stacks changed in the last 90
// days that miss one of the required tags, across every account.
const demoQuery = `select account_id, region, name, tags ->> 'environment' as environment
from aws_cloudformation_stack
where extract(day from current_timestamp - last_updated_time)::int < 90
  and not (tags ?& array['environment', 'department', 'service'])
order by account_id, region, name`

func (c *demoCmd) Run(e *env) error {
	ctx, stdout, stderr := e.ctx, e.stdout, e.stderr
	w, err := newRowWriter(c.Output, stdout)
	if err != nil {
		return usageError{err.Error()}
	}
	srv := fakeaws.New(fakeaws.Options{Seed: 1})
	if err := srv.Start(); err != nil {
		return fmt.Errorf("starting the local AWS endpoint: %w", err)
	}
	defer srv.Close()
	restore, err := demoEnvironment()
	if err != nil {
		return err
	}
	defer restore()

	opts := []query.Option{query.WithLogger(newLogger(stderr)), query.WithPlugin("aws", aws.Plugin)}
	for i, a := range srv.Inventory().Accounts {
		opts = append(opts, query.WithConnection(fmt.Sprintf("aws_%d", i+1), "aws", srv.PluginConfig(a.ID)))
	}
	opts = append(opts, query.WithAggregator("aws", "aws", "aws_*"))
	eng, err := query.New(ctx, opts...)
	if err != nil {
		return err
	}
	defer eng.Close()

	fmt.Fprintf(stderr, "Local AWS at %s with %d accounts. Running:\n\n%s\n\n", srv.URL(), len(srv.Inventory().Accounts), demoQuery)
	rows, err := eng.Query(ctx, demoQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := w.header(rows.Columns()); err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		vals, _ := rows.Values()
		if err := w.row(vals); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "\n%d stacks break the tagging policy.\n", n)
	return nil
}

// demoEnvironment gives the AWS plugin dummy credentials and keeps it away from the host's
// ~/.aws, for the life of the demo.
func demoEnvironment() (restore func(), err error) {
	dir, err := os.MkdirTemp("", "spout-demo")
	if err != nil {
		return nil, err
	}
	set := map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDSPOUTDEMO",
		"AWS_SECRET_ACCESS_KEY":       "spout-demo-secret",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                 "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
	}
	old := map[string]*string{}
	for k, v := range set {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
		os.RemoveAll(dir)
	}, nil
}
