package query_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// captureHandler keeps every record it is given.
type captureHandler struct {
	mu      sync.Mutex
	level   slog.Level
	records []capturedRecord
	attrs   []slog.Attr
}

type capturedRecord struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := capturedRecord{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Any()
		return true
	})
	h.mu.Lock()
	h.records = append(h.records, rec)
	h.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return &capturedView{h: h, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }

// capturedView is captureHandler with attributes added by Logger.With.
type capturedView struct {
	h     *captureHandler
	attrs []slog.Attr
}

func (v *capturedView) Enabled(ctx context.Context, l slog.Level) bool { return v.h.Enabled(ctx, l) }
func (v *capturedView) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(v.attrs...)
	return v.h.Handle(ctx, r)
}
func (v *capturedView) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &capturedView{h: v.h, attrs: append(append([]slog.Attr(nil), v.attrs...), attrs...)}
}
func (v *capturedView) WithGroup(string) slog.Handler { return v }

func (h *captureHandler) find(f func(capturedRecord) bool) *capturedRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.records {
		if f(h.records[i]) {
			return &h.records[i]
		}
	}
	return nil
}

// TestPluginLogs: plugin output goes to the logger given with WithLogger, none to stderr.
func TestPluginLogs(t *testing.T) {
	// Catch anything written to stderr while the engine lives.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	var written []byte
	done := make(chan struct{})
	go func() {
		written, _ = io.ReadAll(r)
		close(done)
	}()
	restore := func() {
		os.Stderr = stderr
		w.Close()
		<-done
	}
	defer func() {
		if os.Stderr != stderr {
			restore()
		}
	}()

	h := &captureHandler{level: slog.LevelDebug}
	eng, err := query.New(t.Context(),
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("logs", "test", "rows = 3"),
		query.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	collect(t, eng, "select id, name from test_types")
	if _, err := queryErr(t, eng, "select id from test_error"); err == nil {
		t.Error("test_error did not fail")
	}
	eng.Close()
	restore()

	fromPlugin := func(rec capturedRecord) bool { return rec.attrs["plugin"] == "test" }
	if rec := h.find(fromPlugin); rec == nil {
		t.Error("no record carries plugin=test")
	}
	// The SDK logs every scan at INFO, which arrives at DEBUG.
	if rec := h.find(func(rec capturedRecord) bool { return fromPlugin(rec) && rec.level <= slog.LevelDebug }); rec == nil {
		t.Error("no plugin record at debug level")
	}
	// The failing scan's warning arrives with its message.
	warn := h.find(func(rec capturedRecord) bool {
		return fromPlugin(rec) && rec.level >= slog.LevelWarn && strings.Contains(rec.msg, "simulated API failure")
	})
	if warn == nil {
		t.Error("the plugin's warning about the failing scan did not arrive")
	}
	if len(written) > 0 {
		t.Errorf("%d bytes went to stderr:\n%s", len(written), firstLines(string(written), 10))
	}
}

// TestPluginLogLevel: at the default INFO level the plugin's per-scan chatter is dropped but
// its warnings still arrive.
func TestPluginLogLevel(t *testing.T) {
	h := &captureHandler{level: slog.LevelInfo}
	eng := newEngine(t, query.WithConnection("logs", "test", "rows = 3"), query.WithLogger(slog.New(h)))
	collect(t, eng, "select id from test_types")
	queryErr(t, eng, "select id from test_error")
	if rec := h.find(func(rec capturedRecord) bool { return rec.level < slog.LevelInfo }); rec != nil {
		t.Errorf("a record below the handler's level arrived: %+v", rec)
	}
	if rec := h.find(func(rec capturedRecord) bool { return strings.Contains(rec.msg, "simulated API failure") }); rec == nil {
		t.Error("the plugin's warning did not arrive at INFO")
	}
}

// TestDefaultLogger: without WithLogger, a scan that makes the plugin warn still returns.
func TestDefaultLogger(t *testing.T) {
	eng, err := query.New(t.Context(), query.WithPlugin("test", testplugin.Plugin), query.WithConnection("d", "test", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res := make(chan error, 1)
	go func() {
		_, err := drain(context.Background(), eng, "select id from test_error")
		res <- err
	}()
	select {
	case err := <-res:
		if err == nil {
			t.Error("test_error did not fail")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query hung")
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
