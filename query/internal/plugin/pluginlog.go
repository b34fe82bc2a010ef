package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Plugins log through hclog and the standard logger. Both are pointed at a writer that
// turns each JSON line into an slog record, so plugin output lands in the caller's
// structured log instead of on stderr. The SDK logs every scan at INFO; that detail is
// DEBUG for a Spout user, so levels are shifted down by one.

func newPluginLogger(logger *slog.Logger, pluginName string) hclog.Logger {
	level := hclog.Warn
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       pluginName,
		Level:      level,
		JSONFormat: true,
		Output:     &slogWriter{logger: logger.With("plugin", pluginName)},
	})
}

var stdLogMu sync.Mutex

// routeStdLog sends the process-wide standard logger to logger. Plugins also re-point it at
// their own hclog logger on every scan, which routes to the same place.
func routeStdLog(logger *slog.Logger) {
	stdLogMu.Lock()
	defer stdLogMu.Unlock()
	hl := newPluginLogger(logger, "plugin")
	log.SetOutput(hl.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	log.SetPrefix("")
	log.SetFlags(0)
}

type slogWriter struct {
	logger *slog.Logger
}

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		w.emit(line)
	}
	return len(p), nil
}

func (w *slogWriter) emit(line []byte) {
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		w.logger.Debug(string(line))
		return
	}
	level := slog.LevelDebug - 4
	switch rec["@level"] {
	case "debug":
		level = slog.LevelDebug - 2
	case "info":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	msg, _ := rec["@message"].(string)
	if conn, err, ok := parseConnectionError(msg); ok {
		scanWatches.logged(conn, err)
	}
	ctx := context.Background()
	if !w.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(rec))
	for k, v := range rec {
		switch k {
		case "@level", "@message", "@timestamp":
			continue
		case "@module":
			attrs = append(attrs, slog.Any("module", v))
		default:
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	w.logger.LogAttrs(ctx, level, msg, attrs...)
}
