// Package postgres delivers query results to PostgreSQL tables, one table per query,
// with COPY.
//
// Each result is one transaction: the table is created or extended with new columns,
// the rows are streamed in with COPY, and COMMIT makes them visible at once. A result
// whose connection dies midway leaves the table as it was.
//
// Modes:
//   - append: each result adds its rows; _spout_run_id and _spout_collected_at tell
//     the runs apart (the history a dashboard trend needs).
//   - replace: the table holds exactly the latest result. Old rows are deleted and new
//     ones copied in the same transaction, so readers see the old snapshot until the
//     commit and the new one after it, and are never blocked (unlike TRUNCATE).
//
// A sharded run's results (sink.ResultInfo.Shard) carry their shard in _spout_shard.
// In replace mode a shard deletes only its own rows (and rows no shard of its layout
// owns: an unsharded run's, or those of a run with another shard count), so once
// every shard has run the table holds what one unsharded run would have delivered.
// Shards writing one table take turns on its lock.
//   - upsert: rows are merged on the key columns, via a temporary staging table and
//     INSERT ... ON CONFLICT. A unique index on the key is created if none exists.
//
// The connection string comes from the environment variable named by dsn_env, never
// from the configuration file, and never appears in errors or logs.
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spoutdev/spout/sink"
)

func init() { sink.Register("postgres", sink.FactoryOf(New)) }

// Modes.
const (
	Append  = "append"
	Replace = "replace"
	Upsert  = "upsert"
)

// Columns added to every table, to tell results apart.
const (
	RunIDColumn       = "_spout_run_id"
	CollectedAtColumn = "_spout_collected_at"
	// ShardColumn holds the shard ("2/4") of a sharded run's rows; it is added to a
	// table when the first sharded result reaches it.
	ShardColumn = "_spout_shard"
)

// Config is a postgres sink's options in spout.yaml.
type Config struct {
	// DSNEnv names the environment variable holding the connection string (URL or
	// keyword=value; pool_max_conns etc. allowed). Required.
	DSNEnv string `yaml:"dsn_env" doc:"The environment variable holding the connection string (URL or keyword=value). Required; the string itself never appears in spout.yaml, errors or logs."`
	// Table is a text/template for the table name, over sink.NameData (.Query,
	// .Connection, .Sink, ...); "schema.table" picks a schema. Default "{{.Query}}".
	Table string `yaml:"table" doc:"A text/template for the table name over .Query, .Connection, .Sink and the like; \"schema.table\" picks a schema. Default {{.Query}}."`
	// Mode is append (default), replace or upsert.
	Mode string `yaml:"mode" doc:"append (default: every result adds its rows, with _spout_run_id and _spout_collected_at), replace (the table holds the latest result, swapped in one transaction) or upsert (rows merged on key)."`
	// Key lists the columns upsert matches rows on. Required for upsert only.
	Key []string `yaml:"key" doc:"The columns upsert matches rows on; required with mode upsert, and only then."`
}

// Sink is a postgres sink. It holds a connection pool; each result uses one
// connection for its transaction.
type Sink struct {
	name  string
	cfg   Config
	table *template.Template
	pool  *pgxpool.Pool
}

// New checks cfg, reads the connection string from the environment and returns the
// sink. It does not connect: an unreachable server is reported by the first Open. It
// is registered as sink type "postgres".
func New(name string, cfg Config) (*Sink, error) {
	fail := func(field string, err error) (*Sink, error) {
		return nil, &sink.FieldError{Field: field, Err: err}
	}
	if cfg.Table == "" {
		cfg.Table = "{{.Query}}"
	}
	if cfg.Mode == "" {
		cfg.Mode = Append
	}
	switch cfg.Mode {
	case Append, Replace:
		if len(cfg.Key) > 0 {
			return fail("key", fmt.Errorf("only used with mode upsert, not %s", cfg.Mode))
		}
	case Upsert:
		if len(cfg.Key) == 0 {
			return fail("key", errors.New("mode upsert needs the key columns to match rows on"))
		}
	default:
		return fail("mode", fmt.Errorf("unknown mode %q (want append, replace or upsert)", cfg.Mode))
	}
	tmpl, err := template.New("table").Option("missingkey=error").Parse(cfg.Table)
	if err != nil {
		return fail("table", fmt.Errorf("bad template: %w", err))
	}
	// Try it now, so a misspelt field fails at startup rather than at the first result.
	if _, err := render(tmpl, sink.ResultInfo{Query: "q", Connection: "c"}, name); err != nil {
		return fail("table", err)
	}
	pool, err := NewPool(cfg.DSNEnv, "spout/"+name)
	if err != nil {
		return nil, err
	}
	return &Sink{name: name, cfg: cfg, table: tmpl, pool: pool}, nil
}

// NewPool returns a connection pool to the server whose connection string is in the
// environment variable dsnEnv, reporting itself to the server as application. It does
// not connect. Errors about dsnEnv are a *sink.FieldError on "dsn_env" and never quote
// the connection string. The state store (state/postgres) connects the same way.
func NewPool(dsnEnv, application string) (*pgxpool.Pool, error) {
	fail := func(err error) (*pgxpool.Pool, error) {
		return nil, &sink.FieldError{Field: "dsn_env", Err: err}
	}
	if dsnEnv == "" {
		return fail(errors.New("required: the environment variable that holds the connection string"))
	}
	dsn, ok := os.LookupEnv(dsnEnv)
	if !ok || dsn == "" {
		return fail(fmt.Errorf("environment variable %s is not set", dsnEnv))
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error would quote the connection string, password and all.
		return fail(fmt.Errorf("$%s is not a valid PostgreSQL connection string (value not shown: it may hold a password)", dsnEnv))
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = application
	// Describe each statement instead of caching prepared ones: tables change shape
	// between results (new columns, a dropped and recreated table), and a cached plan
	// would then fail.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, fmt.Errorf("create connection pool: %w", err)
	}
	return pool, nil
}

// Name implements sink.Sink.
func (s *Sink) Name() string { return s.name }

// Close closes the connection pool.
func (s *Sink) Close() error {
	s.pool.Close()
	return nil
}

func (s *Sink) errorf(format string, args ...any) error {
	return fmt.Errorf("postgres sink %q: "+format, append([]any{s.name}, args...)...)
}

// render executes the table name template.
func render(t *template.Template, info sink.ResultInfo, sinkName string) (pgx.Identifier, error) {
	var b bytes.Buffer
	data := sink.NewNameData(info, sinkName, "")
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("table template: %w", err)
	}
	name := strings.TrimSpace(b.String())
	id := pgx.Identifier{name}
	if schema, table, ok := strings.Cut(name, "."); ok {
		id = pgx.Identifier{schema, table}
	}
	for _, part := range id {
		switch {
		case part == "" || strings.Contains(part, "."):
			return nil, fmt.Errorf("table template gives %q: want table or schema.table", name)
		case len(part) > 63:
			// PostgreSQL would silently truncate it, and two queries could share a table.
			return nil, fmt.Errorf("table template gives %q: names are limited to 63 bytes", name)
		}
	}
	return id, nil
}

// pgType maps a result column type to the column type created for it.
func pgType(t string) (string, error) {
	switch t {
	case sink.TypeText:
		return "text", nil
	case sink.TypeJSONB:
		return "jsonb", nil
	case sink.TypeTimestamptz:
		return "timestamptz", nil
	case sink.TypeBigint:
		return "bigint", nil
	case sink.TypeDouble:
		return "double precision", nil
	case sink.TypeBoolean:
		return "boolean", nil
	}
	return "", fmt.Errorf("unknown column type %q", t)
}
