// Command spout runs Steampipe-style SQL over cloud APIs without Steampipe.
//
//	spout query "select name, region from aws_s3_bucket"
//	spout tables 'aws_s3*'
//	spout describe aws_s3_bucket
//	spout validate --sql my_query.sql
//	spout validate -c spout.yaml
//	spout run -c spout.yaml [--query NAME]... [--schedule GROUP]
//	spout serve -c spout.yaml [--listen :9193]
//
// Flags may come anywhere on the line, before or after a command's arguments.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// Exit codes: 0 success, 1 a query or delivery failed, 2 bad configuration or usage, 3 a
// run stopped by SIGTERM or SIGINT (runner.ExitInterrupted).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

const description = `spout runs Steampipe-style SQL over cloud APIs, in-process.

Flags may come before or after a command's arguments. Run 'spout COMMAND --help' for a
command's flags.`

// cli is the command line. Each command is a struct in the file named after it, with a
// Run method that kong calls with the command's env.
type cli struct {
	Version kong.VersionFlag `hidden:"" help:"Print the version and exit."`

	Demo       demoCmd     `cmd:"" help:"Run a tagging-policy query against a local fake AWS."`
	Query      queryCmd    `cmd:"" help:"Run a query and print the rows (SQL '-' reads the query from stdin)."`
	Tables     tablesCmd   `cmd:"" help:"List tables (PATTERN is a glob: 'aws_s3*')."`
	Describe   describeCmd `cmd:"" help:"Show a table's columns and key columns."`
	Run        runCmd      `cmd:"" help:"Run the configured queries once and deliver the results."`
	Serve      serveCmd    `cmd:"" help:"Serve the configured connections to PostgreSQL clients (psql, Grafana, JDBC) on port 9193."`
	Validate   validateCmd `cmd:"" help:"Check a configuration (-c, every error with file:line:col) or SQL files (--sql) without calling any API."`
	VersionCmd versionCmd  `cmd:"" name:"version" help:"Print the version."`
	Help       helpCmd     `cmd:"" help:"Show help for spout or for a command."`
}

// env is what every command's Run method gets besides its own flags.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError is a mistake on the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the command they name and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(args, &env{ctx: ctx, stdin: os.Stdin, stdout: stdout, stderr: stderr})
}

func runEnv(args []string, e *env) int {
	// A bare "spout" is a usage error, but the help is what the user needs.
	bare := len(args) == 0
	helpTo := e.stdout
	if bare {
		helpTo, args = e.stderr, []string{"--help"}
	}
	p, err := newParser(helpTo, e.stderr)
	if err != nil {
		fmt.Fprintln(e.stderr, "spout:", err)
		return exitFailed
	}
	kctx, exited, err := p.parse(args)
	switch {
	case bare:
		return exitUsage
	case exited >= 0:
		return exited
	case err != nil:
		hint := "Run 'spout --help' for the commands."
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			if cmd := pe.Context.Selected(); cmd != nil {
				hint = "Run '" + cmd.FullPath() + " --help' for its arguments and flags."
			} else if !strings.HasPrefix(args[0], "-") {
				err = fmt.Errorf("unknown command %q", args[0])
			}
		}
		fmt.Fprintf(e.stderr, "spout: %v\n%s\n", err, hint)
		return exitUsage
	}
	return exitCode(kctx.Run(e), e.stderr)
}

// parser wraps kong's so that help and --version end the parse with a code instead of
// ending the process: tests run the whole command line in-process.
type parser struct {
	k      *kong.Kong
	exited int
}

func newParser(stdout, stderr io.Writer) (*parser, error) {
	p := &parser{exited: -1}
	k, err := kong.New(&cli{},
		kong.Name("spout"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) {
			if p.exited < 0 {
				p.exited = code
			}
		}),
		kong.Vars{"version": "spout " + version()},
	)
	p.k = k
	return p, err
}

// parse returns the parsed command line, or the exit code when help or the version was
// printed instead (-1 otherwise). Kong goes on parsing after printing help, so a parse
// error that follows help does not count.
func (p *parser) parse(args []string) (*kong.Context, int, error) {
	p.exited = -1
	kctx, err := p.k.Parse(args)
	return kctx, p.exited, err
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
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

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, "spout", version())
	return nil
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

type helpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to show help for."`
}

func (h helpCmd) Run(e *env) error {
	if code := runEnv(append(h.Command, "--help"), e); code != exitOK {
		return exitError(code)
	}
	return nil
}

// engineFlags are the flags every command that opens an engine shares.
type engineFlags struct {
	AWSConfig string `name:"aws-config" env:"SPOUT_AWS_CONFIG" placeholder:"HCL" help:"Body of the aws connection, as in a Steampipe .spc block, e.g. 'regions = [\"us-east-1\"]'."`
}

func (f *engineFlags) open(ctx context.Context, stderr io.Writer) (*query.Engine, error) {
	return query.New(ctx,
		query.WithLogger(newLogger(stderr)),
		query.WithPlugin("aws", aws.Plugin),
		query.WithConnection("aws", "aws", f.AWSConfig),
	)
}

// configFlag is -c/--config, shared by run and validate. Its environment variable is
// config.EnvFile; config.Load reads SPOUT_CONFIG_YAML when neither is given.
type configFlag struct {
	Config string `short:"c" env:"SPOUT_CONFIG" placeholder:"FILE" help:"The configuration file (default $$${env}; without either, the YAML in $$SPOUT_CONFIG_YAML)."`
}

// stopGraceFlag is --stop-grace, shared by run and serve. ECS stops a task with SIGTERM
// and kills it stopTimeout later; the CDK stack sets SPOUT_STOP_GRACE a little under
// that, so that the clean-up ends before the kill.
type stopGraceFlag struct {
	StopGrace time.Duration `env:"SPOUT_STOP_GRACE" default:"10s" help:"After SIGTERM or SIGINT, how long the clean-up may take: aborting open results and logging the manifest (run), letting running queries finish (serve)."`
}

// outputFlag is the format of the commands that print rows.
type outputFlag struct {
	Output string `enum:"table,json,ndjson,csv" default:"table" help:"Output format: table, json, ndjson or csv."`
}

// demoCmd is declared in every build, so that a binary built with -tags nodemo (the
// container image, which has no use for a fake AWS) still knows the command and can say
// why it cannot run it. Its Run method is in demo.go, or in demo_nodemo.go.
type demoCmd struct {
	outputFlag
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
