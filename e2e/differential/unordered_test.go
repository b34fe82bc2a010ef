package differential

import (
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
)

// Aggregates that build arrays or strings without an ORDER BY of their own
// (array_agg(x), jsonb_agg(x), string_agg(x, ', ')) have no defined element order in SQL:
// Postgres documents the input order as unspecified. Their output columns are compared
// with the elements sorted.

var listAggregates = map[string]bool{"array_agg": true, "json_agg": true, "jsonb_agg": true, "string_agg": true}

type unorderedAgg struct {
	sep string // string_agg's separator; "" for arrays
}

func unorderedAggregate(n *pg.Node) (unorderedAgg, bool) {
	for n != nil && n.GetTypeCast() != nil {
		n = n.GetTypeCast().Arg
	}
	fc := n.GetFuncCall()
	if fc == nil || !listAggregates[funcName(fc)] || len(fc.AggOrder) > 0 {
		return unorderedAgg{}, false
	}
	if funcName(fc) == "string_agg" {
		if len(fc.Args) != 2 {
			return unorderedAgg{}, false
		}
		v, ok := pgtree.ConstValue(fc.Args[1])
		sep, isStr := v.(string)
		if !ok || !isStr || sep == "" {
			return unorderedAgg{}, false
		}
		return unorderedAgg{sep: sep}, true
	}
	return unorderedAgg{}, true
}

// unorderedColumns finds the output columns that carry such an aggregate, directly or by
// name through a subquery or CTE.
func unorderedColumns(sql string, cols []string) map[int]unorderedAgg {
	root, err := parseOne(sql)
	if err != nil {
		return nil
	}
	top := root.GetSelectStmt()
	if top == nil {
		return nil
	}
	byName := map[string]unorderedAgg{}
	pgtree.Walk(root, func(n *pg.Node) bool {
		if rt := n.GetResTarget(); rt != nil && rt.Val != nil {
			if a, ok := unorderedAggregate(rt.Val); ok {
				name := rt.Name
				if name == "" {
					if fc := rt.Val.GetFuncCall(); fc != nil {
						name = funcName(fc)
					}
				}
				if name != "" {
					byName[name] = a
				}
			}
		}
		return true
	})
	if len(byName) == 0 {
		return nil
	}
	out := map[int]unorderedAgg{}
	star := false
	for _, t := range top.TargetList {
		if cr := t.GetResTarget().GetVal().GetColumnRef(); cr != nil && columnRefFields(cr) == nil {
			star = true
		}
	}
	if !star && len(top.TargetList) == len(cols) {
		for i, t := range top.TargetList {
			rt := t.GetResTarget()
			if a, ok := unorderedAggregate(rt.Val); ok {
				out[i] = a
			} else if cr := rt.Val.GetColumnRef(); cr != nil {
				f := columnRefFields(cr)
				if a, ok := byName[f[len(f)-1]]; ok {
					out[i] = a
				}
			}
		}
		return out
	}
	for i, c := range cols {
		if a, ok := byName[c]; ok {
			out[i] = a
		}
	}
	return out
}

// sortUnordered sorts the elements of the given columns in place.
func sortUnordered(res *result, cols map[int]unorderedAgg) {
	for _, row := range res.rows {
		for i, a := range cols {
			if i >= len(row) {
				continue
			}
			switch v := row[i].(type) {
			case []any:
				s := append([]any(nil), v...)
				sort.SliceStable(s, func(x, y int) bool { return key(s[x]) < key(s[y]) })
				row[i] = s
			case string:
				if a.sep != "" {
					parts := strings.Split(v, a.sep)
					sort.Strings(parts)
					row[i] = strings.Join(parts, a.sep)
				}
			}
		}
	}
}
