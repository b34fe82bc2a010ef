package plugin

import (
	"errors"
	"strings"
	"sync"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

// The SDK's Execute can return nil for a scan that failed: a connection's error and its
// end-of-stream marker reach Execute's select loop on two channels, and when both are
// ready the loop may take the end first and drop the error (plugin_grpc.go, v5.13.1).
// The SDK logs every such error before sending it, as
//
//	executeForConnection <connection> returned error <error>, writing to CHAN
//
// so the engine watches its scans' connections and takes a logged error as the scan's
// when Execute returned none. The standard logger is process-wide and each Execute points
// it at its own plugin's logger, so a line one engine's plugin logs may arrive through
// another engine's logger: the watch must be process-wide too. A connection name with
// several scans in flight (in any engine) is ambiguous and is left to the SDK's answer.

// Execute runs one Execute call of the plugin for req.Connection, with an error the SDK
// logged but did not return taken as the call's.
func (h *Host) Execute(req *proto.ExecuteRequest, stream *Stream) error {
	w := scanWatches.begin(req.Connection)
	err := h.server.Execute(req, stream)
	if logged := scanWatches.end(w); err == nil && logged != "" {
		return errors.New(logged)
	}
	return err
}

var scanWatches = &watches{byConn: map[string][]*watch{}}

type watches struct {
	mu     sync.Mutex
	byConn map[string][]*watch
}

type watch struct {
	conn string
	err  string // set from the plugin log
}

// begin starts watching the plugin log for an error of conn.
func (ws *watches) begin(conn string) *watch {
	w := &watch{conn: conn}
	ws.mu.Lock()
	ws.byConn[conn] = append(ws.byConn[conn], w)
	ws.mu.Unlock()
	return w
}

// end stops the watch and returns the error the plugin logged for it, if any.
func (ws *watches) end(w *watch) string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	list := ws.byConn[w.conn]
	for i, x := range list {
		if x == w {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(ws.byConn, w.conn)
	} else {
		ws.byConn[w.conn] = list
	}
	return w.err
}

// logged records an error the SDK logged for conn, if exactly one scan of conn is in
// flight.
func (ws *watches) logged(conn, err string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if list := ws.byConn[conn]; len(list) == 1 && list[0].err == "" {
		list[0].err = err
	}
}

// parseConnectionError reads the SDK's log line for a failed connection.
func parseConnectionError(msg string) (conn, err string, ok bool) {
	const prefix, middle, suffix = "executeForConnection ", " returned error ", ", writing to CHAN"
	rest, found := strings.CutPrefix(msg, prefix)
	if !found {
		return "", "", false
	}
	conn, err, found = strings.Cut(rest, middle)
	if !found || conn == "" {
		return "", "", false
	}
	return conn, strings.TrimSuffix(err, suffix), true
}
