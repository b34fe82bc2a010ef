package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

// PluginFunc is the constructor a Steampipe plugin package exports, e.g. aws.Plugin.
type PluginFunc = plugin.PluginFunc

// serveMu serialises plugin.Server: it rewires the standard logger, which is process-wide.
var serveMu sync.Mutex

// host runs one plugin in-process through the SDK's plugin server: the same code path
// Steampipe uses over gRPC, minus the gRPC.
type host struct {
	name   string
	server *sdkgrpc.PluginServer
	plugin *plugin.Plugin
}

func startHost(name string, fn PluginFunc, logger *slog.Logger) (h *host, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting plugin %s: panic: %v", name, r)
		}
	}()
	serveMu.Lock()
	defer serveMu.Unlock()
	h = &host{name: name}
	capture := func(ctx context.Context) *plugin.Plugin {
		h.plugin = fn(ctx)
		return h.plugin
	}
	h.server = plugin.Server(&plugin.ServeOpts{PluginName: name, PluginFunc: capture})
	// plugin.Server points the plugin's logger and the standard logger at stderr; both go
	// to the caller's slog logger instead so nothing is lost or interleaved on stderr.
	h.plugin.Logger = newPluginLogger(logger, name)
	routeStdLog(logger)
	return h, nil
}

// setConnections hands the plugin every connection it serves, aggregators included.
// cacheMB sizes the SDK's query cache (which must exist even when unused).
func (h *host) setConnections(conns []*connection, cacheMB int) error {
	var cfgs []*proto.ConnectionConfig
	for _, c := range conns {
		cfg := &proto.ConnectionConfig{
			Connection:      c.name,
			Plugin:          h.name,
			PluginShortName: h.name,
			PluginInstance:  h.name,
			Config:          c.config,
		}
		if c.aggregator() {
			cfg.Type = "aggregator"
			cfg.ChildConnections = c.members
		}
		cfgs = append(cfgs, cfg)
	}
	res, err := h.server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs:        cfgs,
		MaxCacheSizeMb: int64(cacheMB),
	})
	if err != nil {
		// The SDK fails the whole call for one connection's bad config and names that
		// connection only in its text ("... for connection 'name'").
		for _, c := range conns {
			if strings.Contains(err.Error(), "'"+c.name+"'") {
				return &ConnectionError{Connection: c.name, Plugin: h.name, Err: err}
			}
		}
		return fmt.Errorf("configuring plugin %s connections: %w", h.name, err)
	}
	if res != nil && len(res.FailedConnections) > 0 {
		names := make([]string, 0, len(res.FailedConnections))
		for n := range res.FailedConnections {
			names = append(names, n)
		}
		sort.Strings(names)
		n := names[0]
		return &ConnectionError{Connection: n, Plugin: h.name, Err: errors.New(res.FailedConnections[n])}
	}
	return nil
}

func (h *host) schema(conn string) (map[string]*proto.TableSchema, error) {
	res, err := h.server.GetSchema(&proto.GetSchemaRequest{Connection: conn})
	if err != nil {
		return nil, &ConnectionError{Connection: conn, Plugin: h.name, Err: fmt.Errorf("reading schema: %w", err)}
	}
	return res.GetSchema().GetSchema(), nil
}
