package pgwire

import (
	"github.com/jackc/pgx/v5/pgtype"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
	"github.com/spoutdev/spout/query"
)

// inferParams guesses the types of a statement's parameters the way Postgres does for
// the common cases: $n compared with (or IN a list against) a column of a plugin table
// takes the column's type, LIMIT $n and OFFSET $n are bigint. Drivers encode arguments
// by these types (pgx will not send an int for a text parameter).
func inferParams(n *pg.Node, eng *query.Engine) map[int]uint32 {
	out := map[int]uint32{}
	if n == nil {
		return out
	}
	columns := map[string]string{} // column name -> Postgres type, over the tables read
	pgtree.Walk(n, func(x *pg.Node) bool {
		rv := x.GetRangeVar()
		if rv == nil {
			return true
		}
		name := rv.Relname
		if rv.Schemaname != "" {
			name = rv.Schemaname + "." + name
		}
		if info, err := eng.Table(name); err == nil {
			for _, c := range info.Columns {
				if _, seen := columns[c.Name]; !seen {
					columns[c.Name] = c.Type
				}
			}
		}
		return true
	})
	colType := func(e *pg.Node) (uint32, bool) {
		cr := e.GetColumnRef()
		if cr == nil || len(cr.Fields) == 0 {
			return 0, false
		}
		t, ok := columns[cr.Fields[len(cr.Fields)-1].GetString_().GetSval()]
		if !ok {
			return 0, false
		}
		oid := resultOID(t)
		return oid, true
	}
	param := func(e *pg.Node) int {
		if p := e.GetParamRef(); p != nil {
			return int(p.Number)
		}
		return 0
	}
	pgtree.Walk(n, func(x *pg.Node) bool {
		switch v := x.Node.(type) {
		case *pg.Node_AExpr:
			l, r := v.AExpr.Lexpr, v.AExpr.Rexpr
			for _, pair := range [][2]*pg.Node{{l, r}, {r, l}} {
				col, other := pair[0], pair[1]
				oid, ok := colType(col)
				if !ok || other == nil {
					continue
				}
				if p := param(other); p > 0 {
					out[p] = oid
				}
				if list := other.GetList(); list != nil {
					for _, item := range list.Items {
						if p := param(item); p > 0 {
							out[p] = oid
						}
					}
				}
			}
		case *pg.Node_SelectStmt:
			for _, e := range []*pg.Node{v.SelectStmt.LimitCount, v.SelectStmt.LimitOffset} {
				if p := param(e); p > 0 {
					out[p] = pgtype.Int8OID
				}
			}
		}
		return true
	})
	return out
}
