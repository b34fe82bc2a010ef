// Package udf holds the Go functions the SQL engine calls where DuckDB has no Postgres
// equivalent: jsonb text and ordering, inet operators, and backtracking regular
// expressions. The rewrite package emits calls to them by the names it defines.
package udf

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// Register adds every function of this package to the database behind db.
func Register(ctx context.Context, db *sql.DB) error {
	for _, register := range []func(context.Context, *sql.DB) error{
		registerInetFunctions,
		registerJSONBFunctions,
		registerRegexFunction,
		registerJSONBCompare,
	} {
		if err := register(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

// TypeInfos builds DuckDB type descriptions for primitive types, in order.
func TypeInfos(types ...duckdb.Type) ([]duckdb.TypeInfo, error) {
	out := make([]duckdb.TypeInfo, len(types))
	for i, t := range types {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			return nil, fmt.Errorf("describing DuckDB type %d: %w", t, err)
		}
		out[i] = ti
	}
	return out, nil
}

// RegisterScalars adds Go scalar functions to the database; any connection will do, as
// functions belong to the catalog.
func RegisterScalars(ctx context.Context, db *sql.DB, fns map[string]duckdb.ScalarFunc) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("opening DuckDB connection: %w", err)
	}
	defer conn.Close()
	for name, f := range fns {
		if err := duckdb.RegisterScalarUDF(conn, name, f); err != nil {
			return fmt.Errorf("registering %s: %w", name, err)
		}
	}
	return nil
}
