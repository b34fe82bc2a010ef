package sink_test

import (
	"context"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/sink"
	_ "github.com/spoutdev/spout/sink/file" // registers sink type "file"
)

// Build a sink from spout.yaml's sinks section and deliver one result through it.
func ExampleBuild() {
	var cfg struct {
		Sinks map[string]yaml.Node `yaml:"sinks"`
	}
	err := yaml.Unmarshal([]byte(`
sinks:
  console:
    type: file
    path: "-"          # standard output
    format: jsonl
    batch: {rows: 500}
    retry: {attempts: 3, backoff: 1s}
    timeout: 5m
`), &cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	node := cfg.Sinks["console"]
	// The zero Env: file sinks write to os.Stdout, retries are not logged.
	s, err := sink.Build("console", &node, sink.Env{})
	if err != nil {
		fmt.Println(err) // e.g. line 6:5: sink "console": format: unknown format "xml" (...)
		return
	}
	defer s.Close()

	ctx := context.Background()
	w, err := s.Open(ctx, sink.ResultInfo{
		Query:       "buckets",
		RunID:       "run-1",
		CollectedAt: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
		Columns:     []sink.Column{{Name: "name", Type: sink.TypeText}, {Name: "objects", Type: sink.TypeBigint}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := w.Write(ctx, []sink.Row{{"logs", int64(3)}, {"backups", nil}}); err != nil {
		w.Abort(ctx)
		fmt.Println(err)
		return
	}
	if err := w.Commit(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"name":"logs","objects":3}
	// {"name":"backups","objects":null}
}
