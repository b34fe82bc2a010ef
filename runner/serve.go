package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/runner/discovery"
)

// OpenEngine starts the engine `spout serve` answers from: the configured connections
// and, with organization discovery, one connection per account found at start plus the
// aggregator over them, as a run has. Close the returned function's engine with it: it
// also removes discovery's temporary AWS configuration.
func OpenEngine(ctx context.Context, cfg *config.Config, plugins map[string]query.PluginFunc, logger *slog.Logger) (*query.Engine, func(), error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []query.Option{query.WithLogger(logger)}
	conns := staticConnections(cfg)
	var res *discovery.Result
	if cfg.Organization != nil {
		var err error
		res, err = discovery.Discover(ctx, discoveryOptions(cfg.Organization, logger))
		if err != nil {
			return nil, nil, fmt.Errorf("organization discovery: %w", err)
		}
		for _, a := range res.Failed() {
			logger.Warn("account left out: its role cannot be assumed", "connection", a.Connection, "error", a.Err.Error())
		}
		ready := res.Ready()
		if len(ready) == 0 {
			res.Close()
			return nil, nil, errors.New("organization discovery found no account whose role can be assumed")
		}
		if err := res.Activate(); err != nil {
			res.Close()
			return nil, nil, err
		}
		conns = append(accountConnections(ready), conns...)
	}
	eng, err := newEngine(ctx, cfg, plugins, conns, opts)
	if err != nil {
		if res != nil {
			res.Close()
		}
		return nil, nil, fmt.Errorf("starting the query engine: %w", err)
	}
	return eng, func() {
		eng.Close()
		if res != nil {
			res.Close()
		}
	}, nil
}
