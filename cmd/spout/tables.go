package main

import (
	"fmt"
	"text/tabwriter"
)

type tablesCmd struct {
	engineFlags
	Pattern string `arg:"" optional:"" help:"A glob over table names (quote it: 'aws_s3*')."`
}

func (c *tablesCmd) Run(e *env) error {
	eng, err := c.open(e.ctx, e.stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	tables, err := eng.Tables(c.Pattern)
	if err != nil {
		return usageError{err.Error()}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, t := range tables {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("no table matches %q", c.Pattern)
	}
	return nil
}
