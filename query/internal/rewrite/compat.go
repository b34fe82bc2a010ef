package rewrite

import (
	"fmt"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
	"google.golang.org/protobuf/proto"
)

// The Postgres-compat layer: Steampipe queries are written for Postgres, DuckDB evaluates
// them. Macros add functions DuckDB lacks; tree rules rewrite constructs whose syntax or
// meaning differs, so a query returns what Postgres would return or fails loudly.

// Macros defines the Postgres functions Steampipe queries use that DuckDB lacks.
var Macros = []string{
	// jsonb ? key: an object has the key, an array has the string, a string equals it.
	`CREATE MACRO spout_jsonb_exists(j, k) AS CASE
		WHEN j IS NULL OR k IS NULL THEN NULL
		ELSE CASE json_type(j)
		WHEN 'OBJECT' THEN list_contains(json_keys(j), k)
		WHEN 'ARRAY' THEN list_contains(CAST(json_extract_string(j, '$[*]') AS VARCHAR[]), k)
		WHEN 'VARCHAR' THEN json_extract_string(j, '$') = k
		ELSE false END END`,
	`CREATE MACRO spout_jsonb_exists_any(j, ks) AS CASE WHEN j IS NULL THEN NULL ELSE len(list_filter(ks, x -> spout_jsonb_exists(j, x))) > 0 END`,
	`CREATE MACRO spout_jsonb_exists_all(j, ks) AS CASE WHEN j IS NULL THEN NULL ELSE len(list_filter(ks, x -> spout_jsonb_exists(j, x))) = len(ks) END`,
	// money prints as Postgres's en_US money text: -$1,234.50.
	`CREATE MACRO spout_money(x) AS CASE WHEN x IS NULL THEN NULL
		WHEN CAST(x AS DOUBLE) < 0 THEN '-$' || format('{:,.2f}', -CAST(x AS DOUBLE))
		ELSE '$' || format('{:,.2f}', CAST(x AS DOUBLE)) END`,
	// jsonb_typeof names types the way Postgres does.
	`CREATE MACRO jsonb_typeof(j) AS CASE json_type(j)
		WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' WHEN 'VARCHAR' THEN 'string'
		WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END`,
	`CREATE MACRO json_typeof(j) AS jsonb_typeof(j)`,
	`CREATE MACRO jsonb_strip_nulls(j) AS j`,
	`CREATE MACRO array_upper(a, d) AS len(a)`,
	`CREATE MACRO array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END`,
	`CREATE MACRO spout_glob(p) AS replace(replace(p, '*', '%'), '?', '_')`,
	`CREATE MACRO nlevel(x) AS len(string_split(x, '.'))`,
	`CREATE MACRO spout_jsonb_each(j) AS list_transform(json_keys(j), k -> {'key': k, 'value': json_extract(j, '$."' || replace(replace(k, '\', '\\'), '"', '\"') || '"')})`,
	`CREATE MACRO spout_jsonb_each_text(j) AS list_transform(json_keys(j), k -> {'key': k, 'value': json_extract_string(j, '$."' || replace(replace(k, '\', '\\'), '"', '\"') || '"')})`,
	`CREATE MACRO initcap(s) AS array_to_string(list_transform(string_split(lower(s), ' '), w -> upper(w[1]) || w[2:]), ' ')`,
}

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
	// The engine's own functions are not for queries to call.
	pgtree.Walk(root, func(n *pg.Node) bool {
		if fc := n.GetFuncCall(); fc != nil {
			name := strings.ToLower(funcName(fc))
			switch {
			case strings.HasPrefix(name, "spout_"):
				r.fail(fc.Location, "function %s is internal to Spout", name)
			case sandboxed(name):
				r.fail(fc.Location, "function %s is not allowed: queries read plugin tables only (no files, network, environment or raw SQL)", name)
			}
		}
		return r.err == nil
	})
	if r.err != nil {
		return
	}
	// Output names first: later rules change expression shapes, and Postgres names
	// columns after what the user wrote.
	pgtree.WalkSelects(root, func(s *pg.SelectStmt) bool {
		if r.generated[s] {
			return false // already DuckDB's dialect
		}
		nameTargets(s)
		moneySortKeys(s)
		r.fromFunctions(s)
		return r.err == nil
	})
	pgtree.Walk(root, func(n *pg.Node) bool {
		switch x := n.Node.(type) {
		case *pg.Node_TypeCast:
			if typeNameIs(x.TypeCast.TypeName, "money") {
				n.Node = fn("spout_money", x.TypeCast.Location, x.TypeCast.Arg).Node
				r.generatedCalls[n.GetFuncCall()] = true
				return true
			}
			intervalUnit(x.TypeCast)
			renameType(x.TypeCast.TypeName)
		case *pg.Node_FuncCall:
			r.funcCall(n, x.FuncCall)
		case *pg.Node_AExpr:
			r.aExpr(n, x.AExpr)
		}
		return r.err == nil
	})
}

func typeNameIs(t *pg.TypeName, name string) bool {
	if t == nil || len(t.Names) == 0 || len(t.ArrayBounds) > 0 {
		return false
	}
	return strings.EqualFold(t.Names[len(t.Names)-1].GetString_().GetSval(), name)
}

// Postgres's interval field masks (INTERVAL_MASK in datetime.h) for a single unit.
var intervalUnits = map[int64]string{
	1 << 2: "year", 1 << 1: "month", 1 << 3: "day", 1 << 10: "hour", 1 << 11: "minute", 1 << 12: "second",
}

// intervalUnit folds the unit of `interval '30' day` into the literal ('30 day'): DuckDB
// reads the bare number without the unit Postgres keeps as a type modifier.
func intervalUnit(tc *pg.TypeCast) {
	if !typeNameIs(tc.TypeName, "interval") || len(tc.TypeName.Typmods) == 0 {
		return
	}
	mask, ok := pgtree.ConstValue(tc.TypeName.Typmods[0])
	m, isInt := mask.(int64)
	unit := intervalUnits[m]
	if !ok || !isInt || unit == "" {
		return
	}
	if c := tc.Arg.GetAConst(); c != nil {
		if sv, ok := c.Val.(*pg.A_Const_Sval); ok {
			v := strings.TrimSpace(sv.Sval.Sval)
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				sv.Sval.Sval = v + " " + unit
			}
		}
	}
	tc.TypeName.Typmods = nil
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

// nameTargets gives every unnamed output column the name Postgres would give it.
func nameTargets(s *pg.SelectStmt) {
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if rt == nil || rt.Name != "" || rt.Val == nil {
			continue
		}
		if rt.Val.GetColumnRef() != nil || rt.Val.GetSqlvalueFunction() != nil {
			// Same name in both engines; stars must stay unnamed, and DuckDB refuses
			// "current_date AS current_date".
			continue
		}
		rt.Name = pgName(rt.Val)
	}
}

// pgName is Postgres's FigureColname.
func pgName(n *pg.Node) string {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		last := x.ColumnRef.Fields[len(x.ColumnRef.Fields)-1]
		if s := last.GetString_(); s != nil {
			return s.Sval
		}
	case *pg.Node_AIndirection:
		for i := len(x.AIndirection.Indirection) - 1; i >= 0; i-- {
			if s := x.AIndirection.Indirection[i].GetString_(); s != nil {
				return s.Sval
			}
		}
		return pgName(x.AIndirection.Arg)
	case *pg.Node_FuncCall:
		return strings.ToLower(funcName(x.FuncCall))
	case *pg.Node_TypeCast:
		if name := pgName(x.TypeCast.Arg); name != "?column?" {
			return name
		}
		if tn := x.TypeCast.TypeName; tn != nil && len(tn.Names) > 0 {
			return tn.Names[len(tn.Names)-1].GetString_().GetSval()
		}
	case *pg.Node_CaseExpr:
		return "case"
	case *pg.Node_AArrayExpr:
		return "array"
	case *pg.Node_CoalesceExpr:
		return "coalesce"
	case *pg.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg.MinMaxOp_IS_GREATEST {
			return "greatest"
		}
		return "least"
	case *pg.Node_SqlvalueFunction:
		return sqlValueName(x.SqlvalueFunction.Op)
	case *pg.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg.SubLinkType_ARRAY_SUBLINK:
			return "array"
		case pg.SubLinkType_EXPR_SUBLINK:
			if s := x.SubLink.Subselect.GetSelectStmt(); s != nil && len(s.TargetList) == 1 {
				rt := s.TargetList[0].GetResTarget()
				if rt.Name != "" {
					return rt.Name
				}
				return pgName(rt.Val)
			}
		}
	case *pg.Node_AExpr:
		if x.AExpr.Kind == pg.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif"
		}
	case *pg.Node_GroupingFunc:
		return "grouping"
	}
	return "?column?"
}

func sqlValueName(op pg.SQLValueFunctionOp) string {
	switch op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return "current_date"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		return "current_time"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return "current_timestamp"
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIME, pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		return "localtime"
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return "localtimestamp"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg.SQLValueFunctionOp_SVFOP_USER:
		return "current_user"
	}
	return "?column?"
}

// funcRenames maps Postgres functions onto DuckDB functions with the same arguments.
var funcRenames = map[string]string{
	"glob":                   "spout_glob",
	"jsonb_array_length":     "json_array_length",
	"jsonb_build_object":     "json_object",
	"json_build_object":      "json_object",
	"jsonb_build_array":      "json_array",
	"json_build_array":       "json_array",
	"to_jsonb":               "to_json",
	"row_to_json":            "to_json",
	"jsonb_object_agg":       "json_group_object",
	"json_object_agg":        "json_group_object",
	"string_to_array":        "string_split",
	"cardinality":            "len",
	"json_array_length":      "json_array_length",
	"regexp_like":            "regexp_matches",
	"jsonb_path_exists":      "json_exists",
	"jsonb_path_query_first": "json_extract",
}

// funcCall rewrites Postgres functions DuckDB spells differently.
func (r *rewriter) funcCall(n *pg.Node, fc *pg.FuncCall) {
	if len(fc.Funcname) == 2 && fc.Funcname[0].GetString_().GetSval() == "pg_catalog" {
		// The parser qualifies SQL-syntax functions (extract, position, overlay, trim...).
		fc.Funcname = fc.Funcname[1:]
	}
	if r.generatedCalls[fc] {
		return // written by the compat rules in DuckDB's dialect
	}
	name := strings.ToLower(funcName(fc))
	if rewrite, ok := scalarSetFunctions[name]; ok && len(fc.Args) == 1 {
		n.Node = rewrite(fc.Args[0], fc.Location).Node
		return
	}
	switch {
	case name == "extract" && len(fc.Args) == 2:
		// EXTRACT(field FROM x) is date_part('field', x) in both engines; DuckDB's parser
		// does not take the quoted form pg_query prints.
		fc.Funcname = []*pg.Node{pg.MakeStrNode("date_part")}
		fc.Funcformat = pg.CoercionForm_COERCE_EXPLICIT_CALL
		return
	case (name == "jsonb_extract_path" || name == "json_extract_path" || name == "jsonb_extract_path_text" || name == "json_extract_path_text") && len(fc.Args) >= 2:
		var keys []string
		for _, a := range fc.Args[1:] {
			v, ok := pgtree.ConstValue(a)
			k, isStr := v.(string)
			if !ok || !isStr {
				return
			}
			keys = append(keys, k)
		}
		to := "json_extract"
		if strings.HasSuffix(name, "_text") {
			to = "json_extract_string"
		}
		n.Node = fn(to, fc.Location, fc.Args[0], pg.MakeAConstStrNode(pathOf(keys), fc.Location)).Node
		return
	case name == "jsonb_agg" || name == "json_agg":
		// DuckDB's json_group_array is a macro, which cannot take ORDER BY, DISTINCT or
		// FILTER; the list aggregate can, and to_json makes it jsonb.
		agg := proto.Clone(fc).(*pg.FuncCall)
		agg.Funcname = []*pg.Node{pg.MakeStrNode("array_agg")}
		sortDistinct(agg)
		n.Node = fn("to_json", fc.Location, &pg.Node{Node: &pg.Node_FuncCall{FuncCall: agg}}).Node
		r.generatedCalls[agg] = true
		return
	case name == "jsonb_pretty" && len(fc.Args) == 1:
		n.Node = fn("spout_jsonb_pretty", fc.Location, castTo(fc.Args[0], "varchar", false)).Node
		r.generatedCalls[n.GetFuncCall()] = true
		return
	case name == "array_agg" || name == "string_agg":
		sortDistinct(fc)
		return
	case name == "array_length" && len(fc.Args) == 2:
		fc.Funcname = []*pg.Node{pg.MakeStrNode("len")}
		fc.Args = fc.Args[:1]
		return
	}
	if fc.Funcformat == pg.CoercionForm_COERCE_SQL_SYNTAX {
		fc.Funcformat = pg.CoercionForm_COERCE_EXPLICIT_CALL
	}
	if to, ok := funcRenames[name]; ok && to != name {
		fc.Funcname = []*pg.Node{pg.MakeStrNode(to)}
	}
}

// sortDistinct orders a DISTINCT list aggregate by its argument: Postgres sorts to find
// the distinct values, so the list comes out sorted; DuckDB's hash-based DISTINCT does not.
func sortDistinct(fc *pg.FuncCall) {
	if !fc.AggDistinct || len(fc.AggOrder) > 0 || len(fc.Args) == 0 {
		return
	}
	fc.AggOrder = []*pg.Node{pg.MakeSortByNode(fc.Args[0], pg.SortByDir_SORTBY_DEFAULT, pg.SortByNulls_SORTBY_NULLS_DEFAULT, -1)}
}

// scalarSetFunctions are set-returning functions used in a select list, where DuckDB
// spells them with unnest.
var scalarSetFunctions = map[string]func(arg *pg.Node, loc int32) *pg.Node{
	"jsonb_array_elements": func(a *pg.Node, l int32) *pg.Node { return unnestOf(castTo(a, "json", true), l) },
	"json_array_elements":  func(a *pg.Node, l int32) *pg.Node { return unnestOf(castTo(a, "json", true), l) },
	"jsonb_array_elements_text": func(a *pg.Node, l int32) *pg.Node {
		return unnestOf(castTo(fn("json_extract_string", l, a, pg.MakeAConstStrNode("$[*]", l)), "varchar", true), l)
	},
	"json_array_elements_text": func(a *pg.Node, l int32) *pg.Node {
		return unnestOf(castTo(fn("json_extract_string", l, a, pg.MakeAConstStrNode("$[*]", l)), "varchar", true), l)
	},
	"jsonb_object_keys": func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("json_keys", l, a), l) },
	"json_object_keys":  func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("json_keys", l, a), l) },
	"jsonb_each":        func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("spout_jsonb_each", l, a), l) },
	"json_each":         func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("spout_jsonb_each", l, a), l) },
	"jsonb_each_text":   func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("spout_jsonb_each_text", l, a), l) },
	"json_each_text":    func(a *pg.Node, l int32) *pg.Node { return unnestOf(fn("spout_jsonb_each_text", l, a), l) },
}

func fn(name string, loc int32, args ...*pg.Node) *pg.Node {
	return pg.MakeFuncCallNode([]*pg.Node{pg.MakeStrNode(name)}, args, loc)
}

func unnestOf(x *pg.Node, loc int32) *pg.Node { return fn("unnest", loc, x) }

// castTo casts x to typ, or to typ[] when array is set.
func castTo(x *pg.Node, typ string, array bool) *pg.Node {
	tn := &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode(typ)}, Location: -1}
	if array {
		tn.ArrayBounds = []*pg.Node{pg.MakeIntNode(-1)}
	}
	return &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: x, TypeName: tn, Location: -1}}}
}

// jsonbText turns an extracted JSON value into Postgres's ->> text: strings unquoted,
// scalars as written, containers in jsonb's canonical form. Scalars, the common case,
// stay in DuckDB; only containers go through the Go function.
func (r *rewriter) jsonbText(extracted *pg.Node, loc int32) *pg.Node {
	str := fn("json_extract_string", loc, extracted, pg.MakeAConstStrNode("$", loc))
	canon := fn("spout_jsonb_text", loc, castTo(extracted, "varchar", false))
	r.generatedCalls[str.GetFuncCall()] = true
	r.generatedCalls[canon.GetFuncCall()] = true
	kind := fn("json_type", loc, extracted)
	r.generatedCalls[kind.GetFuncCall()] = true
	isContainer := pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_IN, []*pg.Node{pg.MakeStrNode("=")}, kind,
		pg.MakeListNode([]*pg.Node{pg.MakeAConstStrNode("OBJECT", loc), pg.MakeAConstStrNode("ARRAY", loc)}), loc)
	return &pg.Node{Node: &pg.Node_CaseExpr{CaseExpr: &pg.CaseExpr{
		Args:      []*pg.Node{pg.MakeCaseWhenNode(isContainer, canon, loc)},
		Defresult: str,
		Location:  loc,
	}}}
}

// aExpr rewrites operators: jsonb operators become function calls (which also settles
// DuckDB's different precedence for ->), regex and LIKE ANY/ALL get Postgres's meaning.
func (r *rewriter) aExpr(n *pg.Node, e *pg.A_Expr) {
	// Every rule here is for a binary operator; a prefix one (`<< x`) is left to the SQL
	// engine to refuse. A function call built with a missing operand would crash the
	// printer.
	if len(e.Name) != 1 || e.Lexpr == nil || e.Rexpr == nil {
		return
	}
	op := e.Name[0].GetString_().GetSval()
	loc := e.Location
	call := func(fn string, args ...*pg.Node) *pg.Node {
		return pg.MakeFuncCallNode([]*pg.Node{pg.MakeStrNode(fn)}, args, loc)
	}
	not := func(x *pg.Node) *pg.Node {
		return pg.MakeBoolExprNode(pg.BoolExprType_NOT_EXPR, []*pg.Node{x}, loc)
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		switch op {
		case "=", "<>", "!=", "<", "<=", ">", ">=":
			if jsonbOperands(e.Lexpr, e.Rexpr) {
				cmp := call(JSONBCompareFunc, e.Lexpr, e.Rexpr)
				n.Node = pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, e.Name, cmp, pg.MakeAConstIntNode(0, loc), loc).Node
			}
		case "->", "->>":
			path, ok := jsonPath(e.Rexpr)
			if !ok {
				path = dynamicPath(e.Rexpr, loc)
			}
			extracted := call("json_extract", e.Lexpr, path)
			if op == "->>" {
				// Postgres prints a container it extracts as text in jsonb's canonical form.
				extracted = r.jsonbText(extracted, loc)
			}
			n.Node = extracted.Node
		case "#>", "#>>":
			path, ok := jsonArrayPath(e.Rexpr)
			if !ok {
				r.fail(loc, "the %s operator needs a constant path like '{a,b}'", op)
				return
			}
			extracted := call("json_extract", e.Lexpr, path)
			if op == "#>>" {
				extracted = r.jsonbText(extracted, loc)
			}
			n.Node = extracted.Node
		case "?":
			n.Node = call("spout_jsonb_exists", e.Lexpr, e.Rexpr).Node
		case "?|":
			n.Node = call("spout_jsonb_exists_any", e.Lexpr, e.Rexpr).Node
		case "?&":
			n.Node = call("spout_jsonb_exists_all", e.Lexpr, e.Rexpr).Node
		case "@>":
			if isArrayExpr(e.Lexpr) || isArrayExpr(e.Rexpr) {
				return
			}
			n.Node = call("json_contains", e.Lexpr, e.Rexpr).Node
		case "<@":
			if isArrayExpr(e.Lexpr) || isArrayExpr(e.Rexpr) {
				return
			}
			n.Node = call("json_contains", e.Rexpr, e.Lexpr).Node
		case "<<", "<<=", ">>", ">>=", "&&":
			if !looksInet(e.Lexpr) && !looksInet(e.Rexpr) {
				return
			}
			switch op {
			case "<<":
				n.Node = call("spout_inet_within", e.Lexpr, e.Rexpr).Node
			case "<<=":
				n.Node = call("spout_inet_within_eq", e.Lexpr, e.Rexpr).Node
			case ">>":
				n.Node = call("spout_inet_within", e.Rexpr, e.Lexpr).Node
			case ">>=":
				n.Node = call("spout_inet_within_eq", e.Rexpr, e.Lexpr).Node
			case "&&":
				n.Node = call("spout_inet_overlaps", e.Lexpr, e.Rexpr).Node
			}
		case "~", "~*", "!~", "!~*":
			n.Node = regexMatch(op, e.Lexpr, e.Rexpr, loc).Node
		}
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		r.likeAnyAll(n, e, op)
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		// Postgres's LIKE treats backslash as the escape character by default; DuckDB's
		// has no default escape.
		v, ok := pgtree.ConstValue(e.Rexpr)
		p, isStr := v.(string)
		if !ok || !isStr || !strings.Contains(p, `\`) {
			return
		}
		name := "like_escape"
		if e.Kind == pg.A_Expr_Kind_AEXPR_ILIKE {
			name = "ilike_escape"
		}
		m := call(name, e.Lexpr, e.Rexpr, pg.MakeAConstStrNode(`\`, loc))
		if strings.HasPrefix(op, "!") {
			m = not(m)
		}
		n.Node = m.Node
	}
}

// looksInet decides that an operand of <<, >> or && is a network address rather than an
// integer (bit shifts) or an array (overlap): an inet/cidr cast or a string literal does.
func looksInet(n *pg.Node) bool {
	if tc := n.GetTypeCast(); tc != nil && len(tc.TypeName.GetNames()) > 0 {
		t := tc.TypeName.Names[len(tc.TypeName.Names)-1].GetString_().GetSval()
		if t == "inet" || t == "cidr" {
			return true
		}
		return looksInet(tc.Arg)
	}
	if v, ok := pgtree.ConstValue(n); ok {
		s, isStr := v.(string)
		return isStr && (strings.Contains(s, ".") || strings.Contains(s, ":"))
	}
	return false
}

func isArrayExpr(n *pg.Node) bool {
	if n.GetAArrayExpr() != nil {
		return true
	}
	if tc := n.GetTypeCast(); tc != nil && len(tc.TypeName.GetArrayBounds()) > 0 {
		return true
	}
	return false
}

// jsonPath turns a constant -> operand into a JSONPath: a key is quoted so keys that look
// like paths ('$defs', 'a.b') stay keys; an integer is an array index, negative from the end.
func jsonPath(n *pg.Node) (*pg.Node, bool) {
	v, ok := pgtree.ConstValue(n)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case string:
		return pg.MakeAConstStrNode(`$."`+escapePathKey(x)+`"`, -1), true
	case int64:
		if x < 0 {
			return pg.MakeAConstStrNode(fmt.Sprintf("$[#%d]", x), -1), true
		}
		return pg.MakeAConstStrNode(fmt.Sprintf("$[%d]", x), -1), true
	}
	return nil, false
}

func escapePathKey(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, `\`, `\\`), `"`, `\"`)
}

// dynamicPath builds the JSONPath for a key computed at run time.
func dynamicPath(key *pg.Node, loc int32) *pg.Node {
	cat := func(l, r *pg.Node) *pg.Node {
		return pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode("||")}, l, r, loc)
	}
	return cat(cat(pg.MakeAConstStrNode(`$."`, loc), key), pg.MakeAConstStrNode(`"`, loc))
}

// jsonArrayPath turns '{a,0,b}' into $."a"[0]."b".
func jsonArrayPath(n *pg.Node) (*pg.Node, bool) {
	v, ok := pgtree.ConstValue(n)
	s, isStr := v.(string)
	if !ok || !isStr {
		if arr := n.GetAArrayExpr(); arr != nil {
			var parts []string
			for _, el := range arr.Elements {
				ev, ok := pgtree.ConstValue(el)
				es, isStr := ev.(string)
				if !ok || !isStr {
					return nil, false
				}
				parts = append(parts, es)
			}
			return pg.MakeAConstStrNode(pathOf(parts), -1), true
		}
		return nil, false
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, false
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	var parts []string
	if inner != "" {
		for _, p := range strings.Split(inner, ",") {
			parts = append(parts, strings.Trim(strings.TrimSpace(p), `"`))
		}
	}
	return pg.MakeAConstStrNode(pathOf(parts), -1), true
}

func pathOf(parts []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range parts {
		if i, err := strconv.Atoi(p); err == nil {
			fmt.Fprintf(&b, "[%d]", i)
			continue
		}
		b.WriteString(`."` + escapePathKey(p) + `"`)
	}
	return b.String()
}

// likeAnyAll rewrites x LIKE ANY (array) and friends, which DuckDB does not parse, into
// EXISTS over the array's elements.
func (r *rewriter) likeAnyAll(n *pg.Node, e *pg.A_Expr, op string) {
	var match func(pattern *pg.Node) *pg.Node
	loc := e.Location
	switch op {
	case "~~", "~~*", "!~~", "!~~*":
		kind := pg.A_Expr_Kind_AEXPR_LIKE
		if strings.Contains(op, "*") {
			kind = pg.A_Expr_Kind_AEXPR_ILIKE
		}
		match = func(p *pg.Node) *pg.Node {
			return pg.MakeAExprNode(kind, []*pg.Node{pg.MakeStrNode(op)}, e.Lexpr, p, loc)
		}
	case "~", "~*", "!~", "!~*":
		match = func(p *pg.Node) *pg.Node { return regexMatch(op, e.Lexpr, p, loc) }
	default:
		return
	}
	all := e.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL
	if arr := e.Rexpr.GetAArrayExpr(); arr != nil {
		// A literal array: expand into OR (ANY) or AND (ALL) of single matches.
		var terms []*pg.Node
		for _, el := range arr.Elements {
			terms = append(terms, match(el))
		}
		boolop := pg.BoolExprType_OR_EXPR
		if all {
			boolop = pg.BoolExprType_AND_EXPR
		}
		switch len(terms) {
		case 0:
			// Postgres: ANY of no patterns is false, ALL of none is true, NULL subject or not.
			n.Node = &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Boolval{Boolval: &pg.Boolean{Boolval: all}}, Location: loc}}
			return
		case 1:
			n.Node = terms[0].Node
			return
		}
		n.Node = pg.MakeBoolExprNode(boolop, terms, loc).Node
		return
	}
	// Any other array expression: EXISTS over its unnested elements.
	sub, err := parseSelect(`SELECT 1 FROM unnest(NULL) AS spout_any(spout_p) WHERE true`)
	if err != nil {
		r.err = err
		return
	}
	sel := sub.GetSelectStmt()
	sel.FromClause[0].GetRangeFunction().Functions[0].GetList().Items[0].GetFuncCall().Args[0] = e.Rexpr
	p := pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode("spout_p")}, loc)
	cond := match(p)
	if all {
		cond = pg.MakeBoolExprNode(pg.BoolExprType_NOT_EXPR, []*pg.Node{cond}, loc)
	}
	sel.WhereClause = cond
	exists := &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXISTS_SUBLINK, Subselect: sub, Location: loc}}}
	if all {
		n.Node = pg.MakeBoolExprNode(pg.BoolExprType_NOT_EXPR, []*pg.Node{exists}, loc).Node
		return
	}
	n.Node = exists.Node
}

func parseSelect(sql string) (*pg.Node, error) {
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("building compat subquery: %w", err)
	}
	return tree.Stmts[0].Stmt, nil
}

// setFunctions are Postgres set-returning functions in FROM, as DuckDB subqueries over
// json_each. $1 is the argument; each yields Postgres's column names.
var setFunctions = map[string]struct {
	sql  string
	cols []string
}{
	"jsonb_array_elements":      {`SELECT value FROM json_each(NULL)`, []string{"value"}},
	"json_array_elements":       {`SELECT value FROM json_each(NULL)`, []string{"value"}},
	"jsonb_array_elements_text": {`SELECT json_extract_string(value, '$') AS value FROM json_each(NULL)`, []string{"value"}},
	"json_array_elements_text":  {`SELECT json_extract_string(value, '$') AS value FROM json_each(NULL)`, []string{"value"}},
	"jsonb_each":                {`SELECT key, value FROM json_each(NULL)`, []string{"key", "value"}},
	"json_each":                 {`SELECT key, value FROM json_each(NULL)`, []string{"key", "value"}},
	"jsonb_each_text":           {`SELECT key, json_extract_string(value, '$') AS value FROM json_each(NULL)`, []string{"key", "value"}},
	"json_each_text":            {`SELECT key, json_extract_string(value, '$') AS value FROM json_each(NULL)`, []string{"key", "value"}},
	"jsonb_object_keys":         {`SELECT key AS jsonb_object_keys FROM json_each(NULL)`, []string{"jsonb_object_keys"}},
	"json_object_keys":          {`SELECT key AS json_object_keys FROM json_each(NULL)`, []string{"json_object_keys"}},
}

// fromFunctions rewrites set-returning functions in a FROM list into lateral subqueries
// DuckDB can run, keeping Postgres's column names and the alias-as-value scoping: with
// `jsonb_array_elements(x) AS s`, a bare `s` means the element.
func (r *rewriter) fromFunctions(s *pg.SelectStmt) {
	valueAliases := map[string]string{} // alias -> its single column
	var visit func(n *pg.Node)
	visit = func(n *pg.Node) {
		switch x := n.Node.(type) {
		case *pg.Node_JoinExpr:
			visit(x.JoinExpr.Larg)
			visit(x.JoinExpr.Rarg)
		case *pg.Node_RangeFunction:
			rf := x.RangeFunction
			if len(rf.Functions) != 1 || rf.Ordinality || rf.IsRowsfrom {
				return
			}
			items := rf.Functions[0].GetList().GetItems()
			if len(items) == 0 {
				return
			}
			fc := items[0].GetFuncCall()
			if fc == nil {
				// SQL/JSON constructors and the like: the printer drops them from FROM.
				kind := strings.TrimPrefix(fmt.Sprintf("%T", items[0].GetNode()), "*pg_query.Node_")
				r.fail(-1, "this expression (%s) cannot stand in FROM here; select it in a subquery instead", kind)
				return
			}
			name := strings.ToLower(funcName(fc))
			sf, ok := setFunctions[name]
			if !ok {
				if col := r.otherFromFunction(n, rf, fc, name); col != "" && rf.Alias != nil {
					valueAliases[rf.Alias.Aliasname] = col
				}
				return
			}
			sub, err := parseSelect(sf.sql)
			if err != nil {
				r.err = err
				return
			}
			r.generated[sub.GetSelectStmt()] = true
			pgtree.Walk(sub, func(m *pg.Node) bool {
				if c := m.GetFuncCall(); c != nil {
					r.generatedCalls[c] = true
				}
				return true
			})
			// Fill the NULL placeholders with the call's arguments, in order.
			args := fc.Args
			pgtree.Walk(sub, func(m *pg.Node) bool {
				if c := m.GetAConst(); c != nil && c.Isnull && len(args) > 0 {
					m.Node = args[0].Node
					args = args[1:]
					return false
				}
				return true
			})
			alias := rf.Alias
			cols := sf.cols
			if alias == nil {
				alias = &pg.Alias{Aliasname: name}
			} else if len(alias.Colnames) > 0 {
				cols = aliasColumns(alias)
			} else if len(sf.cols) == 1 {
				// Postgres names a lone output column after the function's alias.
				alias = &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(sf.cols[0])}}
			}
			if len(cols) == 1 {
				valueAliases[alias.Aliasname] = cols[0]
			}
			n.Node = &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{Lateral: true, Subquery: sub, Alias: alias}}
		}
	}
	for _, item := range s.FromClause {
		visit(item)
	}
	if len(valueAliases) == 0 {
		return
	}
	// A bare alias used as a value means its column, unless a column of that name exists.
	shadowed := r.columnNamesInFrom(s)
	for alias := range valueAliases {
		if shadowed[alias] {
			delete(valueAliases, alias)
		}
	}
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if cr := rt.GetVal().GetColumnRef(); cr != nil && rt.Name == "" && len(cr.Fields) == 1 {
			if name := cr.Fields[0].GetString_().GetSval(); valueAliases[name] != "" {
				rt.Name = name // Postgres names the column after the alias
			}
		}
	}
	pgtree.WalkBelow(s, func(n *pg.Node) bool {
		cr := n.GetColumnRef()
		if cr == nil || len(cr.Fields) != 1 {
			return true
		}
		name := cr.Fields[0].GetString_().GetSval()
		if col, ok := valueAliases[name]; ok {
			cr.Fields = []*pg.Node{pg.MakeStrNode(name), pg.MakeStrNode(col)}
		}
		return true
	})
}

// tableFunctions are functions DuckDB and Postgres both allow in FROM, with one output
// column named after the function.
var tableFunctions = map[string]bool{"unnest": true, "generate_series": true}

// otherFromFunction handles a FROM function without a set-function rule: a shared table
// function gets Postgres's column naming, and a scalar function (allowed in FROM by
// Postgres, not by DuckDB) becomes a one-row subquery. It returns the single output
// column's name when the alias can be used as a value.
func (r *rewriter) otherFromFunction(n *pg.Node, rf *pg.RangeFunction, fc *pg.FuncCall, name string) string {
	if tableFunctions[name] {
		if len(fc.Args) != 1 || rf.Alias == nil || len(rf.Alias.Colnames) > 0 {
			return ""
		}
		// Postgres names a lone column after the alias: unnest(x) AS j yields column j.
		rf.Alias.Colnames = []*pg.Node{pg.MakeStrNode(rf.Alias.Aliasname)}
		return rf.Alias.Aliasname
	}
	if rf.Ordinality || len(rf.Coldeflist) > 0 {
		return ""
	}
	col := name
	alias := rf.Alias
	switch {
	case alias == nil:
		alias = &pg.Alias{Aliasname: name}
	case len(alias.Colnames) == 1:
		col = alias.Colnames[0].GetString_().GetSval()
	case len(alias.Colnames) == 0:
		col = alias.Aliasname
	default:
		return ""
	}
	sub := &pg.SelectStmt{TargetList: []*pg.Node{pg.MakeResTargetNodeWithNameAndVal(col, &pg.Node{Node: &pg.Node_FuncCall{FuncCall: fc}}, -1)}}
	n.Node = &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{
		Lateral:  true,
		Subquery: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sub}},
		Alias:    &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(col)}},
	}}
	return col
}

// columnNamesInFrom lists the columns of plugin tables in a FROM list, for shadowing.
func (r *rewriter) columnNamesInFrom(s *pg.SelectStmt) map[string]bool {
	out := map[string]bool{}
	pgtree.WalkBelow(s, func(n *pg.Node) bool {
		rv := n.GetRangeVar()
		if rv == nil {
			return true
		}
		if _, ts, err := r.cat.Table(rv.Schemaname, rv.Relname); err == nil {
			for _, c := range ts.Columns {
				out[c.Name] = true
			}
		}
		return true
	})
	return out
}

// sandboxed reports DuckDB functions that reach outside the query: files, the network,
// the environment, other databases or raw SQL. enable_external_access=false refuses most
// of them too; refusing them here gives a clear error at the right position.
func sandboxed(name string) bool {
	if strings.HasPrefix(name, "read_") || strings.HasPrefix(name, "parquet_") || strings.HasPrefix(name, "duckdb_") ||
		strings.HasPrefix(name, "pragma_") || strings.HasSuffix(name, "_scan") || strings.HasPrefix(name, "sniff_") {
		return true
	}
	switch name {
	case "query", "query_table", "getenv", "set_config", "checkpoint", "force_checkpoint",
		"which_secret", "load_extension", "install_extension",
		// Logging is set on the instance, past lock_configuration: a file storage breaks
		// every later query and aborts the process when the database closes.
		"enable_logging", "disable_logging", "truncate_duckdb_logs",
		"json_execute_serialized_sql", "import_database", "copy_database":
		return true
	}
	return false
}

// regexMatch builds the match for one of ~, ~*, !~, !~*: DuckDB's regexp_matches, or
// spout_regex_match when a constant pattern needs what RE2 lacks.
func regexMatch(op string, subject, pattern *pg.Node, loc int32) *pg.Node {
	// s: Postgres's . matches a newline, RE2's does not by default.
	name, flags := "regexp_matches", "s"
	if strings.Contains(op, "*") {
		flags = "is"
	}
	if v, ok := pgtree.ConstValue(pattern); ok {
		if p, isStr := v.(string); isStr && needsBacktracking(p) {
			name = RegexMatchFunc
		}
	}
	args := []*pg.Node{subject, pattern, pg.MakeAConstStrNode(flags, loc)}
	m := pg.MakeFuncCallNode([]*pg.Node{pg.MakeStrNode(name)}, args, loc)
	if strings.HasPrefix(op, "!") {
		return pg.MakeBoolExprNode(pg.BoolExprType_NOT_EXPR, []*pg.Node{m}, loc)
	}
	return m
}

// jsonbOperands reports whether a comparison is between jsonb values as Postgres sees
// them: one side is visibly jsonb (-> or #>, or a cast to jsonb) and the other is jsonb
// too or a string literal, which Postgres reads as jsonb.
func jsonbOperands(l, r *pg.Node) bool {
	isStr := func(n *pg.Node) bool {
		v, ok := pgtree.ConstValue(n)
		_, s := v.(string)
		return ok && s
	}
	lj, rj := visiblyJSONB(l), visiblyJSONB(r)
	return lj && (rj || isStr(r)) || rj && isStr(l)
}

func visiblyJSONB(n *pg.Node) bool {
	if e := n.GetAExpr(); e != nil && e.Kind == pg.A_Expr_Kind_AEXPR_OP && len(e.Name) == 1 {
		op := e.Name[0].GetString_().GetSval()
		return op == "->" || op == "#>"
	}
	if tc := n.GetTypeCast(); tc != nil && tc.TypeName != nil && len(tc.TypeName.Names) > 0 {
		name := tc.TypeName.Names[len(tc.TypeName.Names)-1].GetString_().GetSval()
		return name == "jsonb" || name == "json"
	}
	return false
}

// moneySortKeys makes ORDER BY on a money output column sort by its amount: money prints
// as text here, and "$969.95" sorts after "$2,483.13" as text.
func moneySortKeys(s *pg.SelectStmt) {
	for _, item := range s.SortClause {
		sb := item.GetSortBy()
		if sb == nil {
			continue
		}
		var target *pg.ResTarget
		if cr := sb.Node.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
			name := cr.Fields[0].GetString_().GetSval()
			for _, t := range s.TargetList {
				if rt := t.GetResTarget(); rt != nil && rt.Name == name {
					target = rt
				}
			}
		} else if v, ok := pgtree.ConstValue(sb.Node); ok {
			if i, isInt := v.(int64); isInt && i >= 1 && int(i) <= len(s.TargetList) {
				target = s.TargetList[i-1].GetResTarget()
			}
		}
		if target == nil {
			continue
		}
		if tc := target.Val.GetTypeCast(); tc != nil && typeNameIs(tc.TypeName, "money") {
			sb.Node = proto.Clone(tc.Arg).(*pg.Node)
		}
	}
}
