package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spoutdev/spout/query"
)

func runDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("describe [flags] TABLE", "describe", stderr)
	var ef engineFlags
	ef.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"describe: give one table name"}
	}
	eng, err := ef.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	t, err := eng.Table(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (connection %s, plugin %s)\n%s\n\n", t.Name, t.Connection, t.Plugin, t.Description)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tTYPE\tDESCRIPTION")
	for _, c := range t.Columns {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Type, c.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printKeys(stdout, "List key columns", t.ListKeyColumns)
	printKeys(stdout, "Get key columns", t.GetKeyColumns)
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
