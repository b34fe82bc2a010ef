package query

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/spoutdev/spout/query/internal/rewrite"
)

// A query parameter pins a scan's key column to the values of a subquery or CTE
// (`bucket_name in (select name from aws_s3_bucket ...)`, or a join against a CTE). The
// parameter's query is planned with the query that needs it and run just before it; its
// values reach the plugin as an IN list, as Steampipe would pass them one by one.

// checkQueryParams plans every query parameter of the scans. A parameter whose query
// cannot stand on its own (it refers to the outer query) is dropped; if its scan then
// lacks a required qual, that is the query's error.
func (e *Engine) checkQueryParams(ctx context.Context, userSQL string, scans []*scanSpec, opts []QueryOption) error {
	for _, spec := range scans {
		kept := spec.Params[:0]
		dropped := false
		for _, p := range spec.Params {
			if p.SQL == "" {
				kept = append(kept, p)
				continue
			}
			sub, err := e.prepare(ctx, p.SQL, opts)
			if err == nil {
				if spec.plans == nil {
					spec.plans = map[*rewrite.Param]*prepared{}
				}
				spec.plans[p] = sub // run by resolveQueryParams, released with the scans
				kept = append(kept, p)
				continue
			}
			if ctx.Err() != nil {
				spec.Params = kept
				return ctx.Err()
			}
			e.logger.Debug("subquery cannot give a scan its key values on its own",
				"table", spec.Table, "column", p.Column, "subquery", p.SQL, "error", err)
			dropped = true
		}
		spec.Params = kept
		if !dropped {
			continue
		}
		if err := rewrite.CheckRequired(spec.Scan); err != nil {
			return locate(userSQL, err)
		}
	}
	return nil
}

// resolveQueryParams runs the scans' query parameters and turns each into an IN list
// qual. A parameter without values leaves its scan empty.
func (e *Engine) resolveQueryParams(ctx context.Context, scans []*scanSpec, opts []QueryOption) error {
	for _, spec := range scans {
		kept := spec.Params[:0]
		for _, p := range spec.Params {
			if p.SQL == "" {
				kept = append(kept, p)
				continue
			}
			vals, err := e.queryValues(ctx, p.SQL, spec.plans[p], spec.ColumnType(p.Column), opts)
			if err != nil {
				return fmt.Errorf("%s.%s: collecting the values of %s from its subquery: %w", spec.conn.name, spec.Table, p.Column, err)
			}
			if len(vals) == 0 {
				spec.empty = true
				continue
			}
			if len(vals) > maxParamValues {
				return fmt.Errorf("%s.%s: the subquery gives %d values for %s, more than %d; narrow it with a WHERE",
					spec.conn.name, spec.Table, len(vals), p.Column, maxParamValues)
			}
			spec.Quals[p.Column] = rewrite.InList(p.Column, vals)
			e.logger.Debug("subquery parameter resolved", "table", spec.Table, "column", p.Column, "values", len(vals))
		}
		spec.Params = kept
	}
	return nil
}

// queryValues runs a query and returns the distinct non-NULL values of its first column
// as qual values for a column of type t; it stops reading past maxParamValues.
func (e *Engine) queryValues(ctx context.Context, sqlText string, p *prepared, t proto.ColumnType, opts []QueryOption) ([]*proto.QualValue, error) {
	rows, err := e.run(ctx, sqlText, p, opts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := rewrite.NewQualSet(t)
	for rows.Next() && set.Len() <= maxParamValues {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			set.Add(vals[0])
		}
	}
	return set.Values(), rows.Err()
}
