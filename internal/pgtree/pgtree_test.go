package pgtree

import (
	"sort"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
)

func parse(t *testing.T, sql string) *pg.Node {
	t.Helper()
	tree, err := pg.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	return tree.Stmts[0].Stmt
}

func TestWalkSelectsReachesUnionArmsAndSubqueries(t *testing.T) {
	root := parse(t, `select a from t1 union all select b from (select c from t2) s where b in (select d from t3)`)
	var tables []string
	WalkSelects(root, func(s *pg.SelectStmt) bool {
		for _, f := range s.FromClause {
			if rv := f.GetRangeVar(); rv != nil {
				tables = append(tables, rv.Relname)
			}
		}
		return true
	})
	sort.Strings(tables)
	if got := strings.Join(tables, ","); got != "t1,t2,t3" {
		t.Errorf("tables %s, want t1,t2,t3", got)
	}
}

func TestWalkSkipsChildrenWhenTold(t *testing.T) {
	root := parse(t, `select x from t where y = (select z from u)`)
	var cols []string
	Walk(root, func(n *pg.Node) bool {
		if n.GetSubLink() != nil {
			return false
		}
		if cr := n.GetColumnRef(); cr != nil {
			cols = append(cols, cr.Fields[0].GetString_().GetSval())
		}
		return true
	})
	if got := strings.Join(cols, ","); got != "x,y" {
		t.Errorf("columns %s, want x,y (z is inside the skipped subquery)", got)
	}
	var below int
	WalkBelow(root.GetSelectStmt(), func(n *pg.Node) bool {
		if n.GetColumnRef() != nil {
			below++
		}
		return true
	})
	if below != 3 {
		t.Errorf("WalkBelow saw %d column refs, want 3", below)
	}
}

func TestConstValue(t *testing.T) {
	tests := []struct {
		expr string
		want any
		ok   bool
	}{
		{"42", int64(42), true},
		{"10000000000", int64(10000000000), true}, // beyond int32: the parser gives text
		{"1.5", 1.5, true},
		{"'x'", "x", true},
		{"'2024-01-01'::timestamptz", "2024-01-01", true},
		{"true", true, true},
		{"null", nil, false},
		{"a", nil, false},
	}
	for _, tt := range tests {
		root := parse(t, "select "+tt.expr)
		got, ok := ConstValue(root.GetSelectStmt().TargetList[0].GetResTarget().Val)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ConstValue(%s) = %#v, %v; want %#v, %v", tt.expr, got, ok, tt.want, tt.ok)
		}
	}
	if v, ok := ConstValue(nil); v != nil || ok {
		t.Errorf("ConstValue(nil) = %#v, %v; want nil, false", v, ok)
	}
}
