package query

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// compatSQL defines the Postgres functions Steampipe queries use that DuckDB lacks.
var compatSQL = []string{}

// typeRenames maps Postgres type names (as the parser stores them, pg_catalog-qualified
// internal names included) onto DuckDB's. DuckDB cannot alias JSON with CREATE TYPE, so
// the tree is rewritten instead.
var typeRenames = map[string]string{
	"jsonb": "json", "json": "json",
	"int2": "smallint", "int4": "integer", "int8": "bigint",
	"float4": "real", "float8": "double", "bool": "boolean",
	"bpchar": "varchar", "varchar": "varchar", "text": "varchar", "name": "varchar",
	"timestamptz": "timestamptz", "timestamp": "timestamp", "date": "date", "time": "time",
	"interval": "interval", "numeric": "double", "inet": "varchar", "cidr": "varchar",
	"macaddr": "varchar", "ltree": "varchar", "uuid": "uuid", "bytea": "blob",
	"money": "double", "regclass": "varchar", "oid": "bigint", "citext": "varchar",
}

// compat applies the Postgres-compat tree rules to the whole statement.
func (r *rewriter) compat(root *pg.Node) {
	walkNode(root, func(n *pg.Node) bool {
		switch x := n.Node.(type) {
		case *pg.Node_TypeCast:
			renameType(x.TypeCast.TypeName)
		case *pg.Node_FuncCall:
			r.funcCall(n, x.FuncCall)
		}
		return true
	})
}

func renameType(t *pg.TypeName) {
	if t == nil || len(t.Names) == 0 {
		return
	}
	last := t.Names[len(t.Names)-1].GetString_()
	if last == nil {
		return
	}
	name := strings.ToLower(last.Sval)
	if to, ok := typeRenames[name]; ok {
		t.Names = []*pg.Node{pg.MakeStrNode(to)}
		if name == "numeric" || name == "varchar" || name == "bpchar" {
			t.Typmods = nil
		}
	}
}

// funcCall rewrites Postgres functions DuckDB spells differently.
func (r *rewriter) funcCall(n *pg.Node, fc *pg.FuncCall) {
	name := strings.ToLower(funcName(fc))
	switch {
	case name == "extract" && len(fc.Args) == 2:
		// EXTRACT(field FROM x) is date_part('field', x) in both engines; DuckDB's parser
		// does not take the quoted form pg_query prints.
		fc.Funcname = []*pg.Node{pg.MakeStrNode("date_part")}
		fc.Funcformat = pg.CoercionForm_COERCE_EXPLICIT_CALL
	case len(fc.Funcname) == 2 && fc.Funcname[0].GetString_().GetSval() == "pg_catalog":
		// The parser qualifies SQL-syntax functions (position, substring, overlay, trim...).
		fc.Funcname = fc.Funcname[1:]
		if fc.Funcformat == pg.CoercionForm_COERCE_SQL_SYNTAX {
			fc.Funcformat = pg.CoercionForm_COERCE_EXPLICIT_CALL
		}
	}
}
