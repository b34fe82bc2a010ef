package pgwire

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
)

// What a statement is, and so who answers it.
type stmtKind int

const (
	kindEngine  stmtKind = iota // a query over plugin tables: the engine
	kindCatalog                 // pg_catalog, information_schema, session functions: the catalog
	kindSet                     // SET / RESET
	kindShow                    // SHOW
	kindNoop                    // BEGIN, COMMIT, DISCARD ...: answered with a tag
	kindEmpty                   // nothing but comments or whitespace
	kindRefused                 // anything that would write: 25006
)

// stmt is one statement of a query string, classified.
type stmt struct {
	kind   stmtKind
	text   string // the statement's own text
	offset int    // its byte offset in the message it came in, for error positions
	tag    string // command tag of kindNoop and kindSet
	tx     byte   // for transaction statements: the status after it ('I' or 'T'), else 0
	name   string // kindSet / kindShow: the setting
	value  string // kindSet: the value ("" with reset)
	reset  bool
	err    error    // kindRefused
	node   *pg.Node // the parse tree, for inferring parameter types

	params     []paramToken   // $n in text
	paramCasts map[int]uint32 // $n::type in text: the type's OID
	nParams    int            // the highest $n
}

// paramToken is a $n in a statement's text.
type paramToken struct {
	n          int // 1-based
	start, end int // byte offsets in text
}

// split parses a query string into its statements. A string the parser rejects is one
// engine statement, so that the engine reports the error at its position.
func split(text string) []*stmt {
	tree, err := pg.Parse(text)
	if err != nil {
		return []*stmt{{kind: kindEngine, text: text}}
	}
	if len(tree.Stmts) == 0 {
		return []*stmt{{kind: kindEmpty, text: text}}
	}
	var out []*stmt
	for _, raw := range tree.Stmts {
		start, end := int(raw.StmtLocation), len(text)
		if raw.StmtLen > 0 {
			end = start + int(raw.StmtLen)
		}
		s := classify(raw.Stmt, text[start:end])
		s.offset = start
		out = append(out, s)
	}
	return out
}

func classify(n *pg.Node, text string) *stmt {
	s := &stmt{text: text, node: n}
	if strings.TrimSpace(text) == "" {
		s.kind = kindEmpty
		return s
	}
	s.scanParams()
	switch x := n.Node.(type) {
	case *pg.Node_SelectStmt:
		if x.SelectStmt.IntoClause != nil {
			return s.refuse("SELECT INTO")
		}
		if len(x.SelectStmt.LockingClause) > 0 {
			return s.refuse("SELECT FOR UPDATE")
		}
		if w := writingCTE(n); w != "" {
			return s.refuse(w + " in WITH")
		}
		s.kind = kindEngine
		if isCatalogQuery(n) {
			s.kind = kindCatalog
		}
		s.paramCasts = paramCasts(n)
	case *pg.Node_VariableSetStmt:
		v := x.VariableSetStmt
		s.kind, s.tag = kindSet, "SET"
		s.name = strings.ToLower(v.Name)
		switch v.Kind {
		case pg.VariableSetKind_VAR_SET_VALUE:
			var vals []string
			for _, a := range v.Args {
				c, ok := pgtree.ConstValue(a)
				if !ok {
					vals = append(vals, "?")
					continue
				}
				vals = append(vals, fmt.Sprint(c))
			}
			s.value = strings.Join(vals, ", ")
		case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
			s.reset = true
			if v.Kind == pg.VariableSetKind_VAR_RESET {
				s.tag = "RESET"
			}
		case pg.VariableSetKind_VAR_RESET_ALL:
			s.reset, s.tag = true, "RESET"
		default:
			// SET TRANSACTION ..., SET SESSION CHARACTERISTICS: nothing to change in a
			// read-only server.
			s.kind = kindNoop
		}
	case *pg.Node_VariableShowStmt:
		s.kind, s.name = kindShow, strings.ToLower(x.VariableShowStmt.Name)
	case *pg.Node_TransactionStmt:
		s.kind = kindNoop
		switch x.TransactionStmt.Kind {
		case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
			s.tag, s.tx = "BEGIN", 'T'
		case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
			s.tag, s.tx = "COMMIT", 'I'
		case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
			s.tag, s.tx = "ROLLBACK", 'I'
		case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
			s.tag = "SAVEPOINT"
		case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
			s.tag = "RELEASE"
		case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
			s.tag = "ROLLBACK"
		default:
			return s.refuse("PREPARE TRANSACTION")
		}
	case *pg.Node_DiscardStmt:
		s.kind, s.tag = kindNoop, "DISCARD ALL"
	case *pg.Node_DeallocateStmt:
		s.kind, s.tag = kindNoop, "DEALLOCATE"
	case *pg.Node_ListenStmt:
		s.kind, s.tag = kindNoop, "LISTEN"
	case *pg.Node_UnlistenStmt:
		s.kind, s.tag = kindNoop, "UNLISTEN"
	default:
		return s.refuse(commandName(n))
	}
	return s
}

// writingCTE names the first data-modifying statement inside a SELECT (WITH x AS
// (DELETE ...)), or returns "". The server refuses it itself: that DuckDB lacks
// data-modifying CTEs is no guarantee of the next version.
func writingCTE(n *pg.Node) string {
	var what string
	pgtree.Walk(n, func(x *pg.Node) bool {
		switch x.Node.(type) {
		case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
			what = commandName(x)
		}
		return what == ""
	})
	return what
}

func (s *stmt) refuse(what string) *stmt {
	s.kind = kindRefused
	s.err = &pgError{code: "25006", msg: fmt.Sprintf("cannot execute %s: this server is read-only and runs queries only", what)}
	return s
}

// commandName names a statement for an error message: "INSERT", "CREATE TABLE" ...
func commandName(n *pg.Node) string {
	name := fmt.Sprintf("%T", n.Node)
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	name = strings.TrimSuffix(name, "Stmt")
	switch name {
	case "Insert", "Update", "Delete", "Merge", "Copy", "Explain", "Truncate", "Vacuum", "Grant", "Call":
		return strings.ToUpper(name)
	case "Create":
		return "CREATE TABLE"
	case "Drop":
		return "DROP"
	}
	return name
}

// scanParams finds the $n tokens of the statement with the lexer, so that $1 inside a
// string or a comment is left alone.
func (s *stmt) scanParams() {
	res, err := pg.Scan(s.text)
	if err != nil {
		return
	}
	for _, t := range res.Tokens {
		if t.Token != pg.Token_PARAM {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(s.text[t.Start:t.End], "$%d", &n); err != nil || n < 1 {
			continue
		}
		s.params = append(s.params, paramToken{n: n, start: int(t.Start), end: int(t.End)})
		s.nParams = max(s.nParams, n)
	}
}

// catalogSchemas are the schemas only the catalog has.
var catalogSchemas = map[string]bool{"pg_catalog": true, "information_schema": true}

// sessionFunctions are answered by the catalog: they describe the server or the session,
// not plugin tables.
var sessionFunctions = map[string]bool{
	"version": true, "current_schema": true, "current_schemas": true, "current_database": true,
	"current_catalog": true, "current_setting": true, "set_config": true, "pg_backend_pid": true,
	"inet_server_addr": true, "inet_server_port": true, "inet_client_addr": true,
	"pg_postmaster_start_time": true, "pg_is_in_recovery": true, "txid_current": true,
	"obj_description": true, "col_description": true, "shobj_description": true,
	"format_type": true, "pg_get_userbyid": true, "pg_table_is_visible": true,
	"pg_get_expr": true, "pg_encoding_to_char": true, "has_table_privilege": true,
	"has_schema_privilege": true, "has_database_privilege": true, "pg_get_keywords": true,
	"pg_type_is_visible": true, "pg_function_is_visible": true, "to_regclass": true,
	"pg_get_indexdef": true, "pg_get_constraintdef": true, "array_to_string": false,
}

// isCatalogQuery reports whether a SELECT reads the catalog: pg_catalog or
// information_schema relations, pg_* tables, reg* casts or session functions, and no
// plugin table.
func isCatalogQuery(n *pg.Node) bool {
	catalog, other := false, false
	ctes := map[string]bool{}
	pgtree.Walk(n, func(x *pg.Node) bool {
		switch v := x.Node.(type) {
		case *pg.Node_CommonTableExpr:
			ctes[v.CommonTableExpr.Ctename] = true
		case *pg.Node_RangeVar:
			rv := v.RangeVar
			switch {
			case catalogSchemas[rv.Schemaname]:
				catalog = true
			case rv.Schemaname == "" && (strings.HasPrefix(rv.Relname, "pg_") || ctes[rv.Relname]):
				if !ctes[rv.Relname] {
					catalog = true
				}
			default:
				other = true
			}
		case *pg.Node_FuncCall:
			if sessionFunctions[strings.ToLower(lastName(v.FuncCall.Funcname))] {
				catalog = true
			}
		case *pg.Node_SqlvalueFunction:
			switch v.SqlvalueFunction.Op {
			case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg.SQLValueFunctionOp_SVFOP_SESSION_USER,
				pg.SQLValueFunctionOp_SVFOP_USER, pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE,
				pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG, pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
				catalog = true
			}
		case *pg.Node_TypeCast:
			if strings.HasPrefix(lastName(v.TypeCast.TypeName.GetNames()), "reg") {
				catalog = true
			}
		}
		return true
	})
	return catalog && !other
}

func lastName(names []*pg.Node) string {
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1].GetString_().GetSval()
}

// paramCasts finds $n::type in the tree: the parameter's type is the cast's.
func paramCasts(n *pg.Node) map[int]uint32 {
	out := map[int]uint32{}
	pgtree.Walk(n, func(x *pg.Node) bool {
		tc := x.GetTypeCast()
		if tc == nil {
			return true
		}
		p := tc.Arg.GetParamRef()
		if p == nil {
			return true
		}
		if oid, ok := oidByTypeName[lastName(tc.TypeName.GetNames())]; ok {
			if len(tc.TypeName.GetArrayBounds()) == 0 {
				out[int(p.Number)] = oid
			}
		}
		return true
	})
	return out
}
