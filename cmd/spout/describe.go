package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spoutdev/spout/query"
)

type describeCmd struct {
	engineFlags
	Table string `arg:"" help:"The table, e.g. aws_s3_bucket."`
}

func (c *describeCmd) Run(e *env) error {
	eng, err := c.open(e.ctx, e.stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	t, err := eng.Table(c.Table)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s (connection %s, plugin %s)\n%s\n\n", t.Name, t.Connection, t.Plugin, t.Description)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tTYPE\tDESCRIPTION")
	for _, c := range t.Columns {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Type, c.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printKeys(e.stdout, "List key columns", t.ListKeyColumns)
	printKeys(e.stdout, "Get key columns", t.GetKeyColumns)
	return nil
}

func printKeys(w io.Writer, title string, keys []query.KeyColumn) {
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s (quals the API can filter on):\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s %s (%s)\n", k.Name, strings.Join(k.Operators, " "), k.Require)
	}
}
