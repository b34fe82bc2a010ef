package differential

import (
	"errors"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
)

// parseVersion is the parse-tree version Deparse expects.
var parseVersion = func() int32 {
	tree, err := pg.Parse("SELECT 1")
	if err != nil {
		panic(err)
	}
	return tree.Version
}()

// parseOne parses a single statement.
func parseOne(sql string) (*pg.Node, error) {
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(tree.Stmts) != 1 {
		return nil, errors.New("not exactly one statement")
	}
	return tree.Stmts[0].Stmt, nil
}

// queryTables lists the relations a query reads, CTE names excluded, sorted and unique.
// Schema-qualified names keep their schema ("aws.aws_s3_bucket").
func queryTables(sql string) ([]string, error) {
	root, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	ctes := map[string]bool{}
	rels := map[string]bool{}
	pgtree.Walk(root, func(n *pg.Node) bool {
		if c := n.GetCommonTableExpr(); c != nil {
			ctes[c.Ctename] = true
		}
		if rv := n.GetRangeVar(); rv != nil {
			name := rv.Relname
			if rv.Schemaname != "" {
				name = rv.Schemaname + "." + name
			}
			rels[name] = true
		}
		return true
	})
	var out []string
	for r := range rels {
		if !ctes[r] {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out, nil
}

func funcName(fc *pg.FuncCall) string {
	if len(fc.Funcname) == 0 {
		return ""
	}
	return strings.ToLower(fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval())
}

func opName(e *pg.A_Expr) string {
	if len(e.Name) == 0 {
		return ""
	}
	return e.Name[len(e.Name)-1].GetString_().GetSval()
}

func typeName(t *pg.TypeName) string {
	if t == nil || len(t.Names) == 0 {
		return ""
	}
	return strings.ToLower(t.Names[len(t.Names)-1].GetString_().GetSval())
}

func columnRefFields(cr *pg.ColumnRef) []string {
	var out []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return nil // a star
		}
		out = append(out, s.Sval)
	}
	return out
}
