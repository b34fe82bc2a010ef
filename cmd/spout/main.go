// Command spout runs Steampipe-style SQL over cloud APIs without Steampipe.
//
//	spout query "select name, region from aws_s3_bucket"
//	spout tables 'aws_s3*'
//	spout describe aws_s3_bucket
//	spout validate --sql my_query.sql
//	spout validate -c spout.yaml
//	spout run -c spout.yaml [--query NAME]... [--schedule GROUP]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// Exit codes: 0 success, 1 a query or delivery failed, 2 bad configuration or usage.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	usageHeader = `spout runs Steampipe-style SQL over cloud APIs, in-process.

Usage:
  spout demo                       run a tagging-policy query against a local fake AWS
  spout query [flags] "SQL"        run a query and print the rows
  spout tables [flags] [PATTERN]   list tables (PATTERN is a glob: 'aws_s3*')
  spout describe [flags] TABLE     show a table's columns and key columns
  spout run [-c spout.yaml] [--query NAME]... [--schedule GROUP]
                                   run the configured queries once, deliver the results
  spout validate -c spout.yaml     check a configuration: every error with file:line:col
  spout validate [flags] --sql FILE...
                                   check queries plan against the schema (no API calls)
  spout version                    print the version

Run 'spout COMMAND -h' for a command's flags.
`
)

// usageError is a mistake on the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageHeader)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "query":
		err = runQuery(ctx, args[1:], stdout, stderr)
	case "tables":
		err = runTables(ctx, args[1:], stdout, stderr)
	case "describe":
		err = runDescribe(ctx, args[1:], stdout, stderr)
	case "validate":
		err = runValidate(ctx, args[1:], stdout, stderr)
	case "run":
		err = runRun(ctx, args[1:], stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "spout", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageHeader)
		return exitOK
	default:
		fmt.Fprintf(stderr, "spout: unknown command %q\n\n%s", args[0], usageHeader)
		return exitUsage
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var code exitError
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintln(stderr, "spout:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// exitError ends the command with a code after it has printed its own report.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// engineFlags are the flags every command that opens an engine shares.
type engineFlags struct {
	awsConfig string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.awsConfig, "aws-config", os.Getenv("SPOUT_AWS_CONFIG"),
		"HCL body of the `aws` connection, as in a Steampipe .spc block (env SPOUT_AWS_CONFIG), e.g. 'regions = [\"us-east-1\"]'")
}

func (f *engineFlags) open(ctx context.Context, stderr io.Writer) (*query.Engine, error) {
	return query.New(ctx,
		query.WithLogger(newLogger(stderr)),
		query.WithPlugin("aws", aws.Plugin),
		query.WithConnection("aws", "aws", f.awsConfig),
	)
}

// newLogger logs JSON at SPOUT_LOG_LEVEL (debug, info, warn, error; default warn).
func newLogger(w io.Writer) *slog.Logger { return newLoggerAt(w, slog.LevelWarn) }

// newLoggerAt logs JSON at SPOUT_LOG_LEVEL, or at level when it is not set.
func newLoggerAt(w io.Writer, level slog.Level) *slog.Logger {
	switch strings.ToLower(os.Getenv("SPOUT_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: spout %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError(exitUsage)
	}
	return nil
}
