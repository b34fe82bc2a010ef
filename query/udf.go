package query

import (
	"context"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// typeInfos builds DuckDB type descriptions for primitive types, in order.
func typeInfos(types ...duckdb.Type) ([]duckdb.TypeInfo, error) {
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

// registerScalars adds Go scalar functions to the database; any connection will do, as
// functions belong to the catalog.
func (e *Engine) registerScalars(ctx context.Context, fns map[string]duckdb.ScalarFunc) error {
	conn, err := e.db.Conn(ctx)
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
