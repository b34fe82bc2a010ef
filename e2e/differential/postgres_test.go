package differential

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/turbot/steampipe-plugin-sdk/v5/version"
)

// ctxValue is what the SDK puts in every row's sp_ctx and _ctx columns.
func ctxValue() string {
	b, _ := json.Marshal(map[string]any{"connection_name": "aws", "steampipe": map[string]any{"sdk_version": version.String()}})
	return string(b)
}

// setupSQL is what Steampipe's database has that a bare PostgreSQL lacks: its glob().
const setupSQL = `
CREATE FUNCTION glob(pattern text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS
  $$ SELECT replace(replace(pattern, '*', '%'), '?', '_') $$;
`

// connectPostgres opens a session in UTC (the engine's time zone too) and with a statement
// timeout, so one slow query cannot stall the harness.
func connectPostgres(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["statement_timeout"] = "10000"
	// Text results for every column: exact inet/interval/numeric text, no client-side typing.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}

// loadPostgres creates every fixture table in the public schema, with the types Steampipe
// gives plugin columns plus the SDK's sp_connection_name, sp_ctx and _ctx, and inserts the
// same rows the plugin serves.
func loadPostgres(ctx context.Context, conn *pgx.Conn, fx *fixture) error {
	if _, err := conn.Exec(ctx, setupSQL); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	ctxJSON := ctxValue()
	for _, name := range sortedKeys(fx.tables) {
		t := fx.tables[name]
		var defs, names, casts []string
		for _, c := range t.cols {
			defs = append(defs, pgx.Identifier{c.name}.Sanitize()+" "+pgType(c.typ))
			names = append(names, pgx.Identifier{c.name}.Sanitize())
			casts = append(casts, pgType(c.typ))
		}
		defs = append(defs, "sp_connection_name text", "sp_ctx jsonb", "_ctx jsonb")
		create := fmt.Sprintf("CREATE TABLE %s (%s)", pgx.Identifier{name}.Sanitize(), strings.Join(defs, ", "))
		if _, err := conn.Exec(ctx, create); err != nil {
			return fmt.Errorf("%s: %w", create, err)
		}
		var rowsSQL []string
		var args []any
		for _, row := range t.rows {
			var ph []string
			for k, c := range t.cols {
				args = append(args, pgText(row[c.name]))
				ph = append(ph, fmt.Sprintf("$%d::%s", len(args), casts[k]))
			}
			ph = append(ph, "'aws'", "'"+ctxJSON+"'::jsonb", "'"+ctxJSON+"'::jsonb")
			rowsSQL = append(rowsSQL, "("+strings.Join(ph, ", ")+")")
		}
		insert := fmt.Sprintf("INSERT INTO %s (%s, sp_connection_name, sp_ctx, _ctx) VALUES %s",
			pgx.Identifier{name}.Sanitize(), strings.Join(names, ", "), strings.Join(rowsSQL, ",\n"))
		if _, err := conn.Exec(ctx, insert, args...); err != nil {
			return fmt.Errorf("loading %s: %w", name, err)
		}
	}
	_, err := conn.Exec(ctx, "ANALYZE")
	return err
}

// pgText renders a fixture value as the text Postgres parses into the column's type.
func pgText(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
