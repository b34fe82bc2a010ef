package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

func runTables(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tables [flags] [PATTERN]", "tables", stderr)
	var ef engineFlags
	ef.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{"tables: at most one pattern (quote globs: 'aws_s3*')"}
	}
	eng, err := ef.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	tables, err := eng.Tables(fs.Arg(0))
	if err != nil {
		return usageError{err.Error()}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, t := range tables {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("no table matches %q", fs.Arg(0))
	}
	return nil
}
