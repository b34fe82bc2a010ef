package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// plugins are the plugins spout.yaml connections may name. A variable so that the
// tests' child processes (TestMain) can add the test plugin.
var plugins = func() map[string]query.PluginFunc {
	return map[string]query.PluginFunc{"aws": aws.Plugin}
}

type runCmd struct {
	configFlag
	stopGraceFlag
	Query            []string `sep:"none" placeholder:"NAME" help:"Run only the query called NAME (repeatable; also runs a query with enabled: false)."`
	Schedule         string   `placeholder:"GROUP" help:"Run only the queries of schedule GROUP."`
	Shard            string   `env:"SPOUT_SHARD" placeholder:"I/N" help:"Run shard I of N (counted from 1): only the accounts and connections that hash to it, and its share of the queries."`
	Metrics          string   `env:"SPOUT_METRICS" placeholder:"FORMAT" help:"Metrics to write to stdout: none, or emf (CloudWatch Embedded Metric Format, which awslogs ships without an agent)."`
	MetricsNamespace string   `env:"SPOUT_METRICS_NAMESPACE" default:"Spout" placeholder:"NAMESPACE" help:"The CloudWatch namespace of --metrics emf."`
}

func (c *runCmd) Run(e *env) error {
	ctx := e.ctx
	// The run's log is its product: JSON lines on stdout, info and up unless
	// SPOUT_LOG_LEVEL says otherwise. File sinks writing to standard output share it, so
	// that results and log lines never split each other.
	out := sink.NewSharedWriter(e.stdout)
	logger := newLoggerAt(out, slog.LevelInfo)
	if limit := setMemoryLimit(); limit > 0 {
		logger.Debug("Go memory limit set from the container's", "bytes", limit)
	}

	opts := runner.Options{
		Plugins:   plugins(),
		Logger:    logger,
		Stdout:    out,
		Queries:   c.Query,
		Schedule:  c.Schedule,
		StopGrace: c.StopGrace,
	}
	switch c.Metrics {
	case "", "none":
	case "emf":
		opts.Metrics = &runner.MetricsOptions{Out: out, Namespace: c.MetricsNamespace}
	default:
		return usageError{fmt.Sprintf("run: --metrics (or SPOUT_METRICS) is %q; use emf, or none (the default)", c.Metrics)}
	}
	name := c.Config
	if name == "" {
		name = "$" + config.EnvYAML
	}
	shard, err := runner.ParseShard(c.Shard)
	if err != nil {
		runner.ReportInvalid(ctx, name, fmt.Errorf("--shard (or SPOUT_SHARD): %w", err), opts)
		return exitError(runner.ExitInvalid)
	}
	opts.Shard = shard
	cfg, err := config.Load(c.Config, os.LookupEnv)
	if err != nil {
		// Report every problem at once, as validate does; nothing is called or written.
		err = runner.Check(ctx, cfg, err, plugins(), logger)
		runner.ReportInvalid(ctx, name, err, opts)
		return exitError(runner.ExitInvalid)
	}
	m := runner.Run(ctx, cfg, opts)
	if m.ExitCode != 0 {
		return exitError(m.ExitCode)
	}
	return nil
}

// memoryLimitShare is the part of the container's memory the Go heap may grow to before
// the collector works harder; the rest is for the SQL engine (C++ memory) and stacks.
// The CDK app's GOMEMLIMIT default (cdk/spoutcdk, goMemLimit) is the same share.
const memoryLimitShare = 0.7

// setMemoryLimit gives the Go runtime a soft memory limit under the container's, unless
// GOMEMLIMIT sets one. Without it the heap may double before a collection and take a
// small task (512 MB on Fargate) past its limit. It returns the limit set, or 0.
func setMemoryLimit() int64 {
	// The runtime reads GOMEMLIMIT itself ("off" too) and ignores it when empty.
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := cgroupMemoryLimit(cgroupMemoryFiles)
	if limit <= 0 {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	return soft
}

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// cgroupMemoryLimit reads the first of files that exists; 0 when it says there is no
// limit.
func cgroupMemoryLimit(files []string) int64 {
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(v, 10, 64)
		// "max", or v1's "no limit" (a huge number), mean unlimited.
		if err != nil || n <= 0 || n >= 1<<50 {
			return 0
		}
		return n
	}
	return 0
}
