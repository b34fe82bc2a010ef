package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
)

type validateCmd struct {
	configFlag
	engineFlags
	SQL   []string `name:"sql" sep:"none" placeholder:"FILE" help:"A SQL file to check against the schema (repeatable)."`
	Files []string `arg:"" optional:"" name:"file" help:"More SQL files to check."`
}

func (c *validateCmd) Run(e *env, kctx *kong.Context) error {
	ctx, stdout, stderr := e.ctx, e.stdout, e.stderr
	files := append(c.SQL, c.Files...)
	// SPOUT_CONFIG names the configuration run reads; SQL files on the command line
	// still mean "check these", only an explicit -c conflicts with them.
	if c.Config != "" && (len(files) == 0 || flagGiven(kctx, "config")) {
		if len(files) > 0 {
			return usageError{"validate: give -c spout.yaml or SQL files, not both"}
		}
		return validateConfig(ctx, c.Config, stdout, stderr)
	}
	if len(files) == 0 {
		return usageError{"validate: name a configuration with -c, or at least one SQL file with --sql"}
	}
	eng, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	failed := 0
	for _, f := range files {
		if msg := validateFile(ctx, eng, f); msg != "" {
			failed++
			fmt.Fprintf(stdout, "error %s\n", msg)
			continue
		}
		fmt.Fprintf(stdout, "ok %s\n", f)
	}
	if failed > 0 {
		return exitError(exitFailed)
	}
	return nil
}

// validateFile plans one file's query and returns "" or "FILE:LINE:COL: message".
func validateFile(ctx context.Context, eng *query.Engine, file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("%s: %v", file, err)
	}
	_, err = eng.Plan(ctx, string(b))
	if err == nil {
		return ""
	}
	// A located error's own text starts with its LINE:COL.
	if _, ok := query.PositionOf(err); ok {
		return file + ":" + err.Error()
	}
	return fmt.Sprintf("%s:1:1: %v", file, err)
}

// validateConfig checks a spout.yaml without calling any API or writing anything. It
// prints "ok FILE" or one "error FILE:LINE:COL: message" line per problem, and exits 2
// on any problem: a run would refuse the file.
func validateConfig(ctx context.Context, path string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(path, os.LookupEnv)
	err = runner.Check(ctx, cfg, err, plugins(), newLogger(stderr))
	var errs config.Errors
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			fmt.Fprintf(stdout, "error %s\n", e)
		}
		return exitError(exitUsage)
	case err != nil:
		fmt.Fprintf(stdout, "error %s: %v\n", path, err)
		return exitError(exitUsage)
	}
	conns := fmt.Sprintf("%d connections", len(cfg.Connections))
	if cfg.Organization != nil {
		conns = "organization discovery, " + conns
	}
	fmt.Fprintf(stdout, "ok %s (%s, %d sinks, %d queries)\n", path, conns, len(cfg.Sinks), len(cfg.Queries))
	return nil
}

// flagGiven reports whether the flag called name was on the command line, rather than
// set from its environment variable or default.
func flagGiven(kctx *kong.Context, name string) bool {
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			return true
		}
	}
	return false
}
