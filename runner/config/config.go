// Package config reads spout.yaml: the connections, the optional organization discovery,
// the sinks and the queries a run executes.
//
// Parse checks everything that can be checked from the file alone: the YAML, unknown
// keys, value types, required fields, names, duplicates and references between
// sections, and ${VAR} references to the environment. Every problem is reported at once,
// each with its file:line:column (see Errors). Whether the SQL plans against the plugins'
// schemas and whether each sink's options are right is checked by the runner, which
// knows the plugins and sink types; Config keeps the positions it needs for that.
//
// The shape of the file is documented in docs/config.md and, for editors, as a JSON
// Schema in docs/spout.schema.json (see Schema).
package config

import (
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is a parsed spout.yaml.
type Config struct {
	// File is the name errors are reported against: the path, or $SPOUT_CONFIG_YAML.
	File string
	// Dir resolves relative sql_file paths: the config file's directory, or the working
	// directory for inline configuration.
	Dir string

	Connections  []*Connection // in file order: the first of a plugin is its default
	Organization *Organization
	Schedules    []*Schedule
	Sinks        []*Sink
	Queries      []*Query
	Run          Run
	// State is where diffed queries keep their last result; nil when not configured.
	State *State
	Serve *Serve // nil without a serve section (serve.go)

	// What Parse found broken, for the checks that come after it.
	envBroken   bool // some ${VAR} is unset: values are not what the file means
	connsBroken bool // connections or organization have errors
}

// ConnectionsOK reports whether the connections and the organization parsed without
// errors (and every ${VAR} was set), so that an engine can be built from them.
func (c *Config) ConnectionsOK() bool { return !c.connsBroken && !c.envBroken }

// EnvOK reports whether every ${VAR} reference was set.
func (c *Config) EnvOK() bool { return !c.envBroken }

// Connection is one entry under connections.
type Connection struct {
	Name        string   `yaml:"-"`
	Plugin      string   `yaml:"plugin" required:"true" doc:"The plugin serving this connection; the spout binary registers \"aws\"."`
	Type        string   `yaml:"type" enum:"connection,aggregator" doc:"\"aggregator\" fans every scan out over the connections matching connections; default a plain connection."`
	Config      string   `yaml:"config" doc:"The HCL body of a Steampipe .spc connection block, e.g. regions = [\"us-east-1\"]."`
	Connections []string `yaml:"connections" doc:"Aggregator members: connection names or globs such as aws_*."`
	node
}

// Aggregator reports whether c fans out over other connections.
func (c *Connection) Aggregator() bool { return c.Type == TypeAggregator }

// TypeAggregator is Connection.Type for an aggregator.
const TypeAggregator = "aggregator"

// Organization turns on AWS Organizations discovery: one connection per active member
// account (aws_<account id>, assuming role_name in it) plus the aggregator "aws".
type Organization struct {
	RoleName          string   `yaml:"role_name" required:"true" doc:"The role assumed in every member account, e.g. SpoutQueryRole."`
	Regions           []string `yaml:"regions" doc:"Regions queried in every account (the plugin's regions setting); \"*\" for all enabled regions. Default: the plugin's default region."`
	Exclude           []string `yaml:"exclude" doc:"Account ids to skip."`
	IncludeManagement bool     `yaml:"include_management" doc:"Also query the organization's management account (skipped by default)."`
	CredentialSource  string   `yaml:"credential_source" enum:"EcsContainer,Environment,Ec2InstanceMetadata" doc:"Where the credentials that assume role_name come from: EcsContainer (default, the task role), Environment or Ec2InstanceMetadata."`
	SessionName       string   `yaml:"session_name" doc:"The role session name; default \"spout\"."`
	ExternalID        string   `yaml:"external_id" doc:"The external id the member roles require, if any."`
	Config            string   `yaml:"config" doc:"Extra HCL added to every account connection, e.g. ignore_error_codes = [\"AccessDenied\"]."`
	EndpointURL       string   `yaml:"endpoint_url" doc:"An S3-compatible or test endpoint for the account connections; {{.AccountID}} is replaced by each account's id. Discovery's own calls use the standard AWS configuration (AWS_ENDPOINT_URL)."`
	node
}

// The connections organization discovery creates. (The defaults of its other settings
// are discovery.Options'.)
const (
	// AggregatorName is the aggregator discovery creates over every account.
	AggregatorName = "aws"
	// AccountConnectionPrefix starts the name of every discovered account's connection.
	AccountConnectionPrefix = "aws_"
)

// Schedule is one entry under schedules: a group of queries one scheduled task runs.
type Schedule struct {
	Group      string
	Expression string // an EventBridge expression, cron(...) or rate(...)
	node
}

// Sink is one entry under sinks. Its options are checked by the sink type's package
// (sink.Build), so the YAML node is kept whole.
type Sink struct {
	Name string
	Type string
	Node *yaml.Node // the sink's mapping, ${VAR}s expanded
	node
}

// Query is one entry under queries.
type Query struct {
	Name     string   `yaml:"name" required:"true" doc:"Lower-case letters, digits and underscores; sinks use it for table names and object keys."`
	SQL      string   `yaml:"sql" doc:"The query, in Steampipe's (Postgres's) dialect. Give sql or sql_file."`
	SQLFile  string   `yaml:"sql_file" doc:"A file holding the query, relative to this file."`
	Sinks    []string `yaml:"sinks" required:"true" doc:"Names of the sinks that receive the result."`
	Timeout  Duration `yaml:"timeout" doc:"How long the query may run, e.g. 5m; default run.timeout."`
	Schedule string   `yaml:"schedule" doc:"The schedule group that runs the query (spout run --schedule GROUP)."`
	Enabled  *bool    `yaml:"enabled" doc:"false keeps the query out of runs unless named with --query; default true."`
	Diff     *Diff    `yaml:"diff" doc:"true, or a mapping with key and snapshot_sinks: the sinks receive only the rows that changed since the last successful run, each with _spout_change added, removed or (with key) changed. Needs the top-level state section."`
	// DiffFirstRun is what the first diffed run, with no saved state, delivers.
	DiffFirstRun string `yaml:"diff_first_run" enum:"added,snapshot,none" doc:"What a diffed query delivers when no state was saved before: added (default, every row marked added), snapshot (every row, _spout_change null) or none (nothing; the state is recorded)."`
	node

	// Text is the SQL to run: sql, or the contents of sql_file.
	Text string `yaml:"-"`
	// TextFile and TextPos locate Text's first character, for errors inside the SQL.
	TextFile string `yaml:"-"`
	textPos  sqlPos
}

// HasSQL reports whether the query's SQL is known (sql or a readable sql_file, not
// both), so it can be planned even when other parts of the entry have errors.
func (q *Query) HasSQL() bool { return q.Text != "" }

// IsEnabled reports whether the query runs unless excluded by a selection.
func (q *Query) IsEnabled() bool { return q.Enabled == nil || *q.Enabled }

// Run holds the settings of a run as a whole.
type Run struct {
	Concurrency   int      `yaml:"concurrency" doc:"How many queries run at once; default the number of CPUs × 2."`
	Timeout       Duration `yaml:"timeout" doc:"The default per-query timeout; default 30m."`
	Heartbeat     Duration `yaml:"heartbeat" doc:"How often a heartbeat is logged while queries run; default 30s."`
	ManifestSinks []string `yaml:"manifest_sinks" doc:"Sinks that also receive the run manifest, as a result named spout_manifest with one row per query."`
	QueryCacheMB  int      `yaml:"query_cache_mb" doc:"Turns on each plugin's query cache with this many MB, so later queries of a run reuse identical earlier scans. Default 0, off: the plugin SDK hangs a scan whose result outgrows its cache."`
	MemoryLimit   string   `yaml:"memory_limit" doc:"Caps the SQL engine's memory, e.g. 256MB; default DuckDB's own (80% of the memory it sees)."`
	node
}

// Defaults for Run.
const (
	DefaultTimeout   = 30 * time.Minute
	DefaultHeartbeat = 30 * time.Second
)

// Duration is a time.Duration written as in Go: 90s, 5m, 1h30m.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// node remembers where a mapping and its values are in the file, so that checks made
// after parsing (sink references, SQL, sink options) can point at the right line.
type node struct {
	pos    Pos
	values map[string]*yaml.Node // key -> value
	keys   map[string]*yaml.Node // key -> key
	bad    []string              // keys whose value could not be read (already reported)
}

// ok reports whether key is present and its value was read without error: later checks
// skip values that already failed, so that one mistake gives one message.
func (n node) ok(key string) bool {
	_, present := n.keys[key]
	return present && !slices.Contains(n.bad, key)
}

func (n *node) setNode(x node) { *n = x }

// Pos is where the entry starts.
func (n node) Pos() Pos { return n.pos }

// ValuePos is where the value of key is, or the entry's position if key is absent.
func (n node) ValuePos(key string) Pos {
	if v, ok := n.values[key]; ok {
		return nodePos(v)
	}
	return n.pos
}

// KeyPos is where key is, or the entry's position if key is absent.
func (n node) KeyPos(key string) Pos {
	if k, ok := n.keys[key]; ok {
		return nodePos(k)
	}
	return n.pos
}

// ItemPos is where the i-th item of the sequence under key is.
func (n node) ItemPos(key string, i int) Pos {
	v, ok := n.values[key]
	if !ok || v.Kind != yaml.SequenceNode || i >= len(v.Content) {
		return n.ValuePos(key)
	}
	return nodePos(v.Content[i])
}

func nodePos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

// At returns an error located at p in the configuration file.
func (c *Config) At(p Pos, format string, args ...any) *Error {
	return &Error{File: c.File, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// Connection returns the connection called name, or nil.
func (c *Config) Connection(name string) *Connection {
	for _, x := range c.Connections {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// Sink returns the sink called name, or nil.
func (c *Config) Sink(name string) *Sink {
	for _, s := range c.Sinks {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Query returns the query called name, or nil.
func (c *Config) Query(name string) *Query {
	for _, q := range c.Queries {
		if q.Name == name {
			return q
		}
	}
	return nil
}
