// Package plugin hosts Steampipe plugins in-process through the SDK's plugin server: the
// code path Steampipe uses over gRPC, minus the gRPC. It knows nothing of SQL.
//
// The SDK forces some process-wide state, kept here and nowhere else: it rewires the
// standard logger on every scan, reads its memory-freeing interval from the environment,
// and reports some scan errors only through that logger (see lostmsg.go).
package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"google.golang.org/grpc"
)

// Func is the constructor a Steampipe plugin package exports, e.g. aws.Plugin.
type Func = plugin.PluginFunc

// serveMu serialises plugin.Server: it rewires the standard logger, which is process-wide.
var serveMu sync.Mutex

var freeMemOnce sync.Once

// Host runs one plugin.
type Host struct {
	name   string
	server *sdkgrpc.PluginServer
	plugin *plugin.Plugin
}

// Connection is one connection a plugin serves. An aggregator has Members.
type Connection struct {
	Name    string
	Config  string // the HCL body of a Steampipe .spc connection block
	Members []string
}

// ConnectionError is a connection the plugin refused.
type ConnectionError struct {
	Connection string
	Err        error
}

func (e *ConnectionError) Error() string { return e.Err.Error() }
func (e *ConnectionError) Unwrap() error { return e.Err }

// Start starts the plugin fn under name. Its logs go to logger.
func Start(name string, fn Func, logger *slog.Logger) (h *Host, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting plugin %s: panic: %v", name, r)
		}
	}()
	// The SDK frees OS memory every 100 rows unless told otherwise, which makes scans
	// about ten times slower; Go's own scavenger does that job here. The SDK reads the
	// setting only from the environment, so it is set for the process, once, unless the
	// user set it.
	freeMemOnce.Do(func() {
		if _, set := os.LookupEnv("STEAMPIPE_FREE_MEM_INTERVAL"); !set {
			os.Setenv("STEAMPIPE_FREE_MEM_INTERVAL", "0")
		}
	})
	serveMu.Lock()
	defer serveMu.Unlock()
	h = &Host{name: name}
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

// Name is the name the plugin was started under.
func (h *Host) Name() string { return h.name }

// SetConnections hands the plugin every connection it serves, aggregators included.
// cacheMB sizes the SDK's query cache (which must exist even when unused). A connection
// the plugin refuses is a *ConnectionError.
func (h *Host) SetConnections(conns []Connection, cacheMB int) error {
	var cfgs []*proto.ConnectionConfig
	for _, c := range conns {
		cfg := &proto.ConnectionConfig{
			Connection:      c.Name,
			Plugin:          h.name,
			PluginShortName: h.name,
			PluginInstance:  h.name,
			Config:          c.Config,
		}
		if c.Members != nil {
			cfg.Type = "aggregator"
			cfg.ChildConnections = c.Members
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
			if strings.Contains(err.Error(), "'"+c.Name+"'") {
				return &ConnectionError{Connection: c.Name, Err: err}
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
		return &ConnectionError{Connection: n, Err: errors.New(res.FailedConnections[n])}
	}
	return nil
}

// Schema reads the tables of connection conn.
func (h *Host) Schema(conn string) (map[string]*proto.TableSchema, error) {
	res, err := h.server.GetSchema(&proto.GetSchemaRequest{Connection: conn})
	if err != nil {
		return nil, &ConnectionError{Connection: conn, Err: fmt.Errorf("reading schema: %w", err)}
	}
	return res.GetSchema().GetSchema(), nil
}

// Stream receives a plugin's rows in-process, in place of a gRPC server stream.
type Stream struct {
	grpc.ServerStream
	ctx  context.Context
	send func(*proto.ExecuteResponse) error
}

// NewStream hands every response of an Execute call to send; ctx cancels the call.
func NewStream(ctx context.Context, send func(*proto.ExecuteResponse) error) *Stream {
	return &Stream{ctx: ctx, send: send}
}

func (s *Stream) Send(r *proto.ExecuteResponse) error { return s.send(r) }
func (s *Stream) Context() context.Context            { return s.ctx }
