package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/spoutdev/spout/query/internal/plugin"
	"github.com/spoutdev/spout/query/internal/rewrite"
	"github.com/spoutdev/spout/query/internal/udf"
)

// Engine hosts plugins and runs queries over their tables. It is safe for concurrent use.
type Engine struct {
	db           *sql.DB
	connector    *duckdb.Connector
	logger       *slog.Logger
	hosts        map[string]*plugin.Host
	conns        []*connection
	byName       map[string]*connection
	schemas      map[string]map[string]*proto.TableSchema // by connection name
	defaults     map[string]*connection                   // by plugin name
	scans        sync.Map                                 // scan id -> *scanSpec
	emits        sync.Map                                 // query id -> *emitter
	seq          atomic.Int64
	maxConnScans int
	planTimeout  time.Duration
	closed       atomic.Bool
	closeOnce    sync.Once
}

type connection struct {
	name     string
	plugin   string
	config   string
	patterns []string // aggregator member patterns, nil for a plain connection
	members  []string
}

func (c *connection) aggregator() bool { return c.patterns != nil }

// PluginFunc is the constructor a Steampipe plugin package exports, e.g. aws.Plugin.
type PluginFunc = plugin.Func

// Option configures an Engine.
type Option func(*options) error

type options struct {
	plugins      map[string]PluginFunc
	pluginOrder  []string
	conns        []*connection
	logger       *slog.Logger
	cacheMB      int
	memoryLimit  string
	threads      int
	maxConnScans int
	planTimeout  time.Duration
}

// WithPlugin registers a plugin under name, the way database/sql registers drivers:
// query.WithPlugin("aws", aws.Plugin).
func WithPlugin(name string, fn PluginFunc) Option {
	return func(o *options) error {
		if name == "" || fn == nil {
			return errors.New("WithPlugin: name and plugin function are required")
		}
		if _, dup := o.plugins[name]; dup {
			return fmt.Errorf("WithPlugin: plugin %q registered twice", name)
		}
		o.plugins[name] = fn
		o.pluginOrder = append(o.pluginOrder, name)
		return nil
	}
}

// WithConnection adds a connection of plugin with config, the HCL body of a Steampipe
// .spc connection block (e.g. `regions = ["us-east-1"]`). The first connection of a
// plugin is where its unqualified table names resolve, unless an aggregator exists.
func WithConnection(name, plugin, config string) Option {
	return func(o *options) error {
		o.conns = append(o.conns, &connection{name: name, plugin: plugin, config: config})
		return nil
	}
}

// WithAggregator adds a connection that fans every scan out over the plugin's connections
// matching any of patterns (shell globs: "aws_*"). Unqualified table names resolve to the
// first aggregator of their plugin.
func WithAggregator(name, plugin string, patterns ...string) Option {
	return func(o *options) error {
		if len(patterns) == 0 {
			return fmt.Errorf("aggregator %s: at least one connection pattern is required", name)
		}
		o.conns = append(o.conns, &connection{name: name, plugin: plugin, patterns: patterns})
		return nil
	}
}

// WithLogger sends engine and plugin logs to l. Plugin INFO logs arrive at DEBUG.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.logger = l
		return nil
	}
}

// WithQueryCache sizes each plugin's query cache in megabytes (default 1, the smallest the
// SDK allows; it cannot be turned off). Queries that ask for the cache (see UseCache) reuse
// rows of identical earlier scans for 5 minutes.
func WithQueryCache(mb int) Option {
	return func(o *options) error {
		o.cacheMB = mb
		return nil
	}
}

// WithMemoryLimit caps the SQL engine's memory, in DuckDB's notation ("256MB", "1GB").
func WithMemoryLimit(limit string) Option {
	return func(o *options) error {
		o.memoryLimit = limit
		return nil
	}
}

// WithPlanTimeout bounds how long parsing, rewriting and binding one query may take
// (default 10s). A query that exceeds it fails with ErrPlanTimeout before any API call.
func WithPlanTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("WithPlanTimeout: the timeout must be positive")
		}
		o.planTimeout = d
		return nil
	}
}

// WithThreads sets the SQL engine's worker threads (default: GOMAXPROCS).
func WithThreads(n int) Option {
	return func(o *options) error {
		o.threads = n
		return nil
	}
}

var identRe = func(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// New starts the plugins, configures their connections, reads their schemas and prepares
// the SQL engine. No cloud API is called.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o := &options{plugins: map[string]PluginFunc{}, cacheMB: 1, maxConnScans: 16, planTimeout: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		// Not slog.Default(): its handler writes through the standard log package, which
		// the plugins' log output is routed into, and the two would feed each other.
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e := &Engine{
		logger:       o.logger,
		hosts:        map[string]*plugin.Host{},
		byName:       map[string]*connection{},
		schemas:      map[string]map[string]*proto.TableSchema{},
		defaults:     map[string]*connection{},
		maxConnScans: o.maxConnScans,
		planTimeout:  o.planTimeout,
	}
	if err := e.addConnections(o); err != nil {
		return nil, err
	}
	for _, name := range o.pluginOrder {
		var conns []*connection
		for _, c := range e.conns {
			if c.plugin == name && !c.aggregator() {
				conns = append(conns, c)
			}
		}
		if len(conns) == 0 {
			continue
		}
		h, err := plugin.Start(name, o.plugins[name], o.logger)
		if err != nil {
			return nil, err
		}
		e.hosts[name] = h
		pcs := make([]plugin.Connection, len(conns))
		for i, c := range conns {
			pcs[i] = plugin.Connection{Name: c.name, Config: c.config}
		}
		if err := h.SetConnections(pcs, o.cacheMB); err != nil {
			return nil, connectionError(name, err)
		}
		for _, c := range conns {
			s, err := h.Schema(c.name)
			if err != nil {
				return nil, connectionError(name, err)
			}
			e.schemas[c.name] = s
		}
	}
	if err := e.openDuckDB(ctx, o); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) addConnections(o *options) error {
	for _, c := range o.conns {
		if !identRe(c.name) {
			return &ConnectionError{Connection: c.name, Plugin: c.plugin, Err: errors.New("names are lower-case letters, digits and underscores")}
		}
		if _, dup := e.byName[c.name]; dup {
			return &ConnectionError{Connection: c.name, Plugin: c.plugin, Err: errors.New("defined twice")}
		}
		if _, ok := o.plugins[c.plugin]; !ok {
			return &ConnectionError{Connection: c.name, Err: fmt.Errorf("plugin %q is not registered (use query.WithPlugin)", c.plugin)}
		}
		e.byName[c.name] = c
		e.conns = append(e.conns, c)
	}
	for _, c := range e.conns {
		if !c.aggregator() {
			if e.defaults[c.plugin] == nil {
				e.defaults[c.plugin] = c
			}
			continue
		}
		for _, m := range e.conns {
			if m.aggregator() || m.plugin != c.plugin {
				continue
			}
			for _, p := range c.patterns {
				if ok, err := path.Match(p, m.name); err != nil {
					return &ConnectionError{Connection: c.name, Plugin: c.plugin, Err: fmt.Errorf("aggregator pattern %q: %w", p, err)}
				} else if ok {
					c.members = append(c.members, m.name)
					break
				}
			}
		}
		if len(c.members) == 0 {
			return &ConnectionError{Connection: c.name, Plugin: c.plugin,
				Err: fmt.Errorf("aggregator: no %s connection matches %s", c.plugin, strings.Join(c.patterns, ", "))}
		}
	}
	// An aggregator is the natural default: unqualified names then query every account.
	for _, c := range e.conns {
		if c.aggregator() && (e.defaults[c.plugin] == nil || !e.defaults[c.plugin].aggregator()) {
			e.defaults[c.plugin] = c
		}
	}
	return nil
}

// openDuckDB starts the in-memory SQL engine and locks it down: a query can read plugin
// tables and nothing else.
func (e *Engine) openDuckDB(ctx context.Context, o *options) error {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("starting DuckDB: %w", err)
	}
	e.connector = connector
	e.db = sql.OpenDB(connector)
	threads := o.threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if err := e.registerScanFunction(ctx); err != nil {
		return err
	}
	if err := e.registerEmitFunction(ctx); err != nil {
		return err
	}
	if err := udf.Register(ctx, e.db); err != nil {
		return err
	}
	stmts := []string{
		// Both are linked into the binary; loading them reads no file and no network.
		"LOAD json",
		"LOAD icu",
		"SET GLOBAL threads = " + strconv.Itoa(threads),
		"SET GLOBAL TimeZone = 'UTC'",
		// Postgres divides integers as integers, and sorts NULLs last ascending but first
		// descending.
		"SET GLOBAL integer_division = true",
		"SET GLOBAL default_null_order = 'nulls_last_on_asc_first_on_desc'",
	}
	if o.memoryLimit != "" {
		stmts = append(stmts, "SET GLOBAL memory_limit = '"+strings.ReplaceAll(o.memoryLimit, "'", "")+"'")
	}
	stmts = append(stmts, rewrite.Macros...)
	stmts = append(stmts,
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL lock_configuration = true",
	)
	for _, s := range stmts {
		if _, err := e.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("preparing SQL engine (%s): %w", firstLine(s), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Close stops the SQL engine. Plugins hold no processes, so there is nothing else to stop.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		if e.db != nil {
			err = e.db.Close()
		}
		if e.connector != nil {
			if cerr := e.connector.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

func (e *Engine) newScanID() string {
	return "s" + strconv.FormatInt(e.seq.Add(1), 10)
}

// targets lists the concrete connections a scan of conn executes against.
func (e *Engine) targets(c *connection) []string {
	if c.aggregator() {
		return c.members
	}
	return []string{c.name}
}

// resolveTable finds the connection and schema behind a table reference.
func (e *Engine) resolveTable(schema, table string) (*connection, *proto.TableSchema, error) {
	if schema != "" {
		c, ok := e.byName[schema]
		if !ok {
			return nil, nil, fmt.Errorf("unknown connection %q in %s.%s%s", schema, schema, table, suggest(schema, e.connectionNames()))
		}
		ts := e.tableSchema(c, table)
		if ts == nil {
			return nil, nil, fmt.Errorf("connection %s has no table %q%s", schema, table, suggest(table, e.tableNames(c)))
		}
		return c, ts, nil
	}
	plugins := make([]string, 0, len(e.defaults))
	for p := range e.defaults {
		plugins = append(plugins, p)
	}
	sort.Strings(plugins)
	var all []string
	for _, p := range plugins {
		c := e.defaults[p]
		if ts := e.tableSchema(c, table); ts != nil {
			return c, ts, nil
		}
		all = append(all, e.tableNames(c)...)
	}
	return nil, nil, fmt.Errorf("table %q does not exist%s", table, suggest(table, all))
}

// catalog is the engine as the rewrite sees it: tables by name, nothing else.
type catalog struct{ e *Engine }

func (c catalog) Table(schema, table string) (string, *proto.TableSchema, error) {
	conn, ts, err := c.e.resolveTable(schema, table)
	if err != nil {
		return "", nil, err
	}
	return conn.name, ts, nil
}

// connectionError turns the plugin host's error about one connection into the engine's.
func connectionError(pluginName string, err error) error {
	var ce *plugin.ConnectionError
	if errors.As(err, &ce) {
		return &ConnectionError{Connection: ce.Connection, Plugin: pluginName, Err: ce.Err}
	}
	return err
}

func (e *Engine) tableSchema(c *connection, table string) *proto.TableSchema {
	name := c.name
	if c.aggregator() {
		name = c.members[0]
	}
	return e.schemas[name][table]
}

func (e *Engine) tableNames(c *connection) []string {
	name := c.name
	if c.aggregator() {
		name = c.members[0]
	}
	out := make([]string, 0, len(e.schemas[name]))
	for t := range e.schemas[name] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (e *Engine) connectionNames() []string {
	out := make([]string, 0, len(e.conns))
	for _, c := range e.conns {
		out = append(out, c.name)
	}
	return out
}

// TableInfo describes a plugin table.
type TableInfo struct {
	Name        string
	Connection  string
	Plugin      string
	Description string
	Columns     []ColumnInfo
	// ListKeyColumns and GetKeyColumns are the quals the plugin can use; Require is
	// "required", "any_of" or "optional".
	ListKeyColumns []KeyColumn
	GetKeyColumns  []KeyColumn
}

// ColumnInfo describes a plugin table column.
type ColumnInfo struct {
	Name        string
	Type        string // Postgres name: text, bigint, double precision, boolean, timestamptz, jsonb, inet, cidr, ltree
	Description string
}

// KeyColumn is a column a plugin can filter on at the API.
type KeyColumn struct {
	Name      string
	Operators []string
	Require   string
}

// Tables lists the tables reachable by unqualified name, sorted, optionally filtered by a
// shell glob ("aws_s3*").
func (e *Engine) Tables(pattern string) ([]TableInfo, error) {
	var out []TableInfo
	plugins := make([]string, 0, len(e.defaults))
	for p := range e.defaults {
		plugins = append(plugins, p)
	}
	sort.Strings(plugins)
	for _, p := range plugins {
		c := e.defaults[p]
		for _, name := range e.tableNames(c) {
			if pattern != "" {
				ok, err := path.Match(pattern, name)
				if err != nil {
					return nil, fmt.Errorf("bad table pattern %q: %w", pattern, err)
				}
				if !ok {
					continue
				}
			}
			out = append(out, tableInfo(c, name, e.tableSchema(c, name)))
		}
	}
	return out, nil
}

// Table describes one table, resolved the way a query resolves it ("conn.table" too).
func (e *Engine) Table(name string) (*TableInfo, error) {
	schema, table := "", name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		schema, table = name[:i], name[i+1:]
	}
	c, ts, err := e.resolveTable(schema, table)
	if err != nil {
		return nil, err
	}
	ti := tableInfo(c, table, ts)
	return &ti, nil
}

func tableInfo(c *connection, name string, ts *proto.TableSchema) TableInfo {
	ti := TableInfo{Name: name, Connection: c.name, Plugin: c.plugin, Description: ts.Description}
	for _, col := range ts.Columns {
		ti.Columns = append(ti.Columns, ColumnInfo{Name: col.Name, Type: pluginTypeName(col.Type), Description: col.Description})
	}
	for _, k := range ts.ListCallKeyColumnList {
		ti.ListKeyColumns = append(ti.ListKeyColumns, KeyColumn{Name: k.Name, Operators: k.Operators, Require: k.Require})
	}
	for _, k := range ts.GetCallKeyColumnList {
		ti.GetKeyColumns = append(ti.GetKeyColumns, KeyColumn{Name: k.Name, Operators: k.Operators, Require: k.Require})
	}
	return ti
}

func pluginTypeName(t proto.ColumnType) string {
	switch t {
	case proto.ColumnType_BOOL:
		return "boolean"
	case proto.ColumnType_INT:
		return "bigint"
	case proto.ColumnType_DOUBLE:
		return "double precision"
	case proto.ColumnType_JSON:
		return "jsonb"
	//lint:ignore SA1019 older plugins still send DATETIME for timestamp columns
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		return "timestamptz"
	case proto.ColumnType_IPADDR, proto.ColumnType_INET:
		return "inet"
	case proto.ColumnType_CIDR:
		return "cidr"
	case proto.ColumnType_LTREE:
		return "ltree"
	}
	return "text"
}
