package config

import (
	"maps"
	"reflect"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/yamlconf"
)

// Diff is a query's diff setting: `diff: true`, or a mapping with the key columns and
// the sinks that still receive every row. A diffed query's sinks receive only the rows
// that changed since the last successful run, each with a _spout_change column.
type Diff struct {
	// On is set by `diff: true` and by any mapping; `diff: false` leaves it unset.
	On            bool     `yaml:"-"`
	Key           []string `yaml:"key" doc:"Columns that identify a row, e.g. [arn]: a row whose key was there before but whose other columns differ is \"changed\". Without key a changed row is \"removed\" plus \"added\"."`
	SnapshotSinks []string `yaml:"snapshot_sinks" doc:"Sinks (of the query's sinks) that receive every row of the result, not only the changes, with _spout_change \"added\", \"changed\" or \"unchanged\"."`
	node
}

// DecodeNode reads true, false or a mapping of settings.
func (d *Diff) DecodeNode(dec *yamlconf.Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			dec.Errorf(n, path, "want true, false or a mapping with key and snapshot_sinks, got %s", yamlconf.Describe(n))
			return
		}
		d.On = b
		d.node = node{pos: nodePos(n)}
		return
	}
	if n.Kind != yaml.MappingNode {
		dec.Errorf(n, path, "want true, false or a mapping with key and snapshot_sinks, got %s", yamlconf.Describe(n))
		return
	}
	dec.Decode(n, path, d)
	d.On = true
}

// JSONSchema describes a Diff for docs/spout.schema.json.
func (Diff) JSONSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "boolean"},
		yamlconf.StructSchema(reflect.TypeFor[Diff]()),
	}}
}

// The values of diff_first_run: what a diffed query's sinks receive when no snapshot
// was saved before.
const (
	FirstRunAdded    = "added"    // every row, marked added (the default)
	FirstRunSnapshot = "snapshot" // every row, with _spout_change null
	FirstRunNone     = "none"     // nothing: the first run only records the state
)

// Diffed reports whether the query sends only changes.
func (q *Query) Diffed() bool { return q.Diff != nil && q.Diff.On }

// FirstRun is the query's diff_first_run, defaulted.
func (q *Query) FirstRun() string {
	if q.DiffFirstRun == "" {
		return FirstRunAdded
	}
	return q.DiffFirstRun
}

// State is the top-level state section: where diffed queries keep the snapshot of their
// last delivered result.
type State struct {
	Type      string `yaml:"type" required:"true" enum:"postgres,s3" doc:"postgres (a table) or s3 (an object per query)."`
	DSNEnv    string `yaml:"dsn_env" doc:"postgres: the environment variable holding the connection string, as for the postgres sink. Required with type postgres."`
	Table     string `yaml:"table" doc:"postgres: the snapshot table; records go to <table>_rows. Default spout_state."`
	Bucket    string `yaml:"bucket" doc:"s3: the bucket. Required with type s3."`
	Prefix    string `yaml:"prefix" doc:"s3: goes before every object key, e.g. spout/state/."`
	Region    string `yaml:"region" doc:"s3: the bucket's region; default the AWS environment's."`
	Endpoint  string `yaml:"endpoint" doc:"s3: the URL of an S3-compatible store; default AWS."`
	PathStyle bool   `yaml:"path_style" doc:"s3: address the bucket in the path rather than the host name."`
	node
}

// State types.
const (
	StatePostgres = "postgres"
	StateS3       = "s3"
)

var stateKeys = map[string][]string{
	StatePostgres: {"type", "dsn_env", "table"},
	StateS3:       {"type", "bucket", "prefix", "region", "endpoint", "path_style"},
}

func (p *parser) state(cfg *Config, n *yaml.Node) {
	if yamlconf.IsNull(n) {
		return
	}
	cfg.State = &State{}
	p.decode(n, cfg.State, "state")
}

// checkState refuses options of the other store type.
func (p *parser) checkState(cfg *Config) {
	s := cfg.State
	if s == nil || !s.ok("type") {
		return
	}
	allowed := stateKeys[s.Type]
	for _, k := range slices.Sorted(maps.Keys(s.keys)) {
		if !slices.Contains(allowed, k) {
			p.add(s.KeyPos(k), "state.%s: not an option of a %s state store", k, s.Type)
		}
	}
}

// checkDiff checks a query's diff settings against the rest of the file.
func (p *parser) checkDiff(cfg *Config, where string, q *Query) {
	if _, written := q.keys["diff"]; q.ok("diff_first_run") && !q.Diffed() && (!written || q.ok("diff")) {
		p.add(q.KeyPos("diff_first_run"), "%s: diff_first_run is only used with diff", where)
	}
	if !q.Diffed() {
		return
	}
	if cfg.State == nil {
		p.add(q.KeyPos("diff"), "%s: diff needs a state store to keep the last result in: add a top-level state section (type postgres or s3)", where)
	}
	seen := map[string]bool{}
	for i, k := range q.Diff.Key {
		if seen[k] {
			p.add(q.Diff.ItemPos("key", i), "%s: diff.key: %s is listed twice", where, k)
		}
		seen[k] = true
	}
	if q.Diff.ok("key") && len(q.Diff.Key) == 0 {
		p.add(q.Diff.ValuePos("key"), "%s: diff.key is empty: name the columns that identify a row, or leave key out", where)
	}
	for i, name := range q.Diff.SnapshotSinks {
		if !slices.Contains(q.Sinks, name) {
			p.add(q.Diff.ItemPos("snapshot_sinks", i), "%s: diff.snapshot_sinks: %s is not one of the query's sinks (%v)", where, name, q.Sinks)
		}
	}
}
