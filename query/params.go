package query

import (
	"context"
	"fmt"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
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
		kept := spec.params[:0]
		dropped := false
		for _, p := range spec.params {
			if p.sql == "" {
				kept = append(kept, p)
				continue
			}
			sub, err := e.prepare(ctx, p.sql, opts)
			if err == nil {
				p.plan = sub // run by resolveQueryParams, released with the scans
				kept = append(kept, p)
				continue
			}
			if ctx.Err() != nil {
				spec.params = kept
				return ctx.Err()
			}
			e.logger.Debug("subquery cannot give a scan its key values on its own",
				"table", spec.table, "column", p.column, "subquery", p.sql, "error", err)
			dropped = true
		}
		spec.params = kept
		if !dropped {
			continue
		}
		if err := checkRequiredAt(spec, userSQL); err != nil {
			return err
		}
	}
	return nil
}

// resolveQueryParams runs the scans' query parameters and turns each into an IN list
// qual. A parameter without values leaves its scan empty.
func (e *Engine) resolveQueryParams(ctx context.Context, scans []*scanSpec, opts []QueryOption) error {
	for _, spec := range scans {
		kept := spec.params[:0]
		for _, p := range spec.params {
			if p.sql == "" {
				kept = append(kept, p)
				continue
			}
			var t proto.ColumnType
			for _, c := range spec.schema.Columns {
				if c.Name == p.column {
					t = c.Type
				}
			}
			vals, err := e.queryValues(ctx, p, t, opts)
			if err != nil {
				return fmt.Errorf("%s.%s: collecting the values of %s from its subquery: %w", spec.conn.name, spec.table, p.column, err)
			}
			if len(vals) == 0 {
				spec.empty = true
				continue
			}
			if len(vals) > maxParamValues {
				return fmt.Errorf("%s.%s: the subquery gives %d values for %s, more than %d; narrow it with a WHERE",
					spec.conn.name, spec.table, len(vals), p.column, maxParamValues)
			}
			spec.quals[p.column] = inList(p.column, vals)
			e.logger.Debug("subquery parameter resolved", "table", spec.table, "column", p.column, "values", len(vals))
		}
		spec.params = kept
	}
	return nil
}

// queryValues runs a query and returns the distinct non-NULL values of its first column
// as qual values for a column of type t; it stops reading past maxParamValues.
func (e *Engine) queryValues(ctx context.Context, p scanParam, t proto.ColumnType, opts []QueryOption) ([]*proto.QualValue, error) {
	rows, err := e.run(ctx, p.sql, p.plan, opts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := newQualSet(t)
	for rows.Next() && len(set.vals) <= maxParamValues {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			set.add(vals[0])
		}
	}
	return set.vals, rows.Err()
}

// qualSet collects the distinct values that can be quals on a column of type t.
// Values that cannot be one are skipped: they could not match the key column anyway.
type qualSet struct {
	t    proto.ColumnType
	seen map[string]bool
	vals []*proto.QualValue
}

func newQualSet(t proto.ColumnType) *qualSet {
	return &qualSet{t: t, seen: map[string]bool{}}
}

func (s *qualSet) add(v any) {
	if v == nil {
		return
	}
	qv, ok := qualValue(s.t, v)
	if tm, isTime := v.(time.Time); !ok && isTime {
		qv, ok = qualValue(s.t, tm.Format(time.RFC3339Nano))
	}
	if !ok {
		return
	}
	if key := formatQualValue(qv); !s.seen[key] {
		s.seen[key] = true
		s.vals = append(s.vals, qv)
	}
}

// inList is the qual column = ANY(vals).
func inList(column string, vals []*proto.QualValue) *proto.Quals {
	return &proto.Quals{Quals: []*proto.Qual{{
		FieldName: column,
		Operator:  &proto.Qual_StringValue{StringValue: "="},
		Value:     &proto.QualValue{Value: &proto.QualValue_ListValue{ListValue: &proto.QualValueList{Values: vals}}},
	}}}
}
