package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/spoutdev/spout/internal/pgtree"
)

// Pushdown: which columns, quals and limit each plugin-table scan receives. The SQL engine
// still applies the whole WHERE, so what is pushed can only make a query cheaper, never
// change its result: a qual is pinned only when its meaning cannot depend on binding.
// relation is one item of a FROM list as far as qual pinning and column resolution care.
type relation struct {
	name    string   // what qualifies its columns: alias, else table name
	columns []string // known output columns; nil: unknown
	node    *pg.Node // the RangeVar node, replaced in place by the scan
	rv      *pg.RangeVar
	scan    *Scan // nil for anything that is not a plugin table
	conds   []*pg.Node
	// source is the Postgres text of a subquery or CTE relation as the user wrote it,
	// for join parameters; "" for others.
	source string
}

type relRef struct {
	rel      *relation
	nullable bool
}

func (r *rewriter) selectStmt(s *pg.SelectStmt) {
	if s.Op != pg.SetOperation_SETOP_NONE {
		return // larg and rarg are SelectStmts of their own
	}
	var rels []*relation
	var refs []relRef
	for _, item := range s.FromClause {
		refs = append(refs, r.fromItem(item, &rels)...)
	}
	if r.err != nil {
		return
	}
	for _, c := range conjuncts(s.WhereClause) {
		for _, ref := range refs {
			if !ref.nullable && ref.rel.scan != nil {
				ref.rel.conds = append(ref.rel.conds, c)
			}
		}
	}
	limit := r.safeLimit(s, rels)
	for _, rel := range rels {
		if rel.scan != nil {
			r.pinQuals(rel, rels)
		}
	}
	for _, rel := range rels {
		if rel.scan == nil {
			continue
		}
		if limit >= 0 && len(rels) == 1 {
			rel.scan.Limit = limit
		}
		r.joinParams(rel, rels)
		r.jsonbColumnComparisons(rel, rels)
		if err := CheckRequired(rel.scan); err != nil {
			if r.err == nil {
				r.err = err
			}
			return
		}
		r.replace(rel)
	}
}

// fromItem collects the relations under one FROM item. Join conditions are attached to
// the relations they can filter: both sides of an inner join, the inner side of an outer
// join. WHERE conjuncts go to relations no outer join can null-extend.
func (r *rewriter) fromItem(n *pg.Node, rels *[]*relation) []relRef {
	switch x := n.GetNode().(type) {
	case *pg.Node_RangeVar:
		rel := r.rangeVar(n, x.RangeVar)
		if rel == nil {
			return nil
		}
		*rels = append(*rels, rel)
		return []relRef{{rel: rel}}
	case *pg.Node_JoinExpr:
		j := x.JoinExpr
		left := r.fromItem(j.Larg, rels)
		right := r.fromItem(j.Rarg, rels)
		conds := conjuncts(j.Quals)
		attach := func(refs []relRef) {
			for _, ref := range refs {
				if !ref.nullable && ref.rel.scan != nil {
					ref.rel.conds = append(ref.rel.conds, conds...)
				}
			}
		}
		nullable := func(refs []relRef) []relRef {
			out := make([]relRef, len(refs))
			for i, ref := range refs {
				out[i] = relRef{rel: ref.rel, nullable: true}
			}
			return out
		}
		switch j.Jointype {
		case pg.JoinType_JOIN_INNER:
			attach(left)
			attach(right)
			return append(left, right...)
		case pg.JoinType_JOIN_LEFT:
			attach(right)
			return append(left, nullable(right)...)
		case pg.JoinType_JOIN_RIGHT:
			attach(left)
			return append(nullable(left), right...)
		default:
			return append(nullable(left), nullable(right)...)
		}
	case *pg.Node_RangeSubselect:
		rel := &relation{}
		if a := x.RangeSubselect.Alias; a != nil {
			rel.name = a.Aliasname
			rel.columns = aliasColumns(a)
		}
		if rel.columns == nil {
			rel.columns = targetNames(x.RangeSubselect.Subquery.GetSelectStmt())
		}
		rel.source = r.sources[x.RangeSubselect.Subquery.GetSelectStmt()]
		*rels = append(*rels, rel)
		return []relRef{{rel: rel}}
	case *pg.Node_RangeFunction:
		rel := &relation{columns: []string{}}
		if a := x.RangeFunction.Alias; a != nil {
			rel.name = a.Aliasname
			rel.columns = append(rel.columns, a.Aliasname)
			rel.columns = append(rel.columns, aliasColumns(a)...)
		}
		for _, f := range x.RangeFunction.Functions {
			for _, item := range f.GetList().GetItems() {
				if fc := item.GetFuncCall(); fc != nil {
					rel.columns = append(rel.columns, funcName(fc))
				}
			}
		}
		// Set-returning functions name their columns value/key/... unless aliased.
		rel.columns = append(rel.columns, "value", "key", "ordinality")
		*rels = append(*rels, rel)
		return []relRef{{rel: rel}}
	default:
		rel := &relation{}
		*rels = append(*rels, rel)
		return []relRef{{rel: rel}}
	}
}

func aliasColumns(a *pg.Alias) []string {
	if a == nil || len(a.Colnames) == 0 {
		return nil
	}
	out := make([]string, 0, len(a.Colnames))
	for _, c := range a.Colnames {
		out = append(out, c.GetString_().GetSval())
	}
	return out
}

// targetNames lists a subquery's output column names, or nil when they cannot be known
// without binding (a star, an unnamed expression).
func targetNames(s *pg.SelectStmt) []string {
	if s == nil || s.Op != pg.SetOperation_SETOP_NONE {
		return nil
	}
	var out []string
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if rt == nil {
			return nil
		}
		if rt.Name != "" {
			out = append(out, rt.Name)
			continue
		}
		cr := rt.Val.GetColumnRef()
		if cr == nil {
			return nil
		}
		last := cr.Fields[len(cr.Fields)-1]
		if last.GetAStar() != nil {
			return nil
		}
		out = append(out, last.GetString_().GetSval())
	}
	return out
}

func funcName(fc *pg.FuncCall) string {
	if len(fc.Funcname) == 0 {
		return ""
	}
	return fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()
}

// rangeVar resolves a table reference. CTE names shadow plugin tables, as in Postgres.
func (r *rewriter) rangeVar(n *pg.Node, rv *pg.RangeVar) *relation {
	name := rv.Relname
	alias := name
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	if rv.Schemaname == "" && r.ctes[name] {
		rel := &relation{name: alias}
		rel.source, rel.columns = r.cteSource(name)
		if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
			rel.columns = aliasColumns(rv.Alias)
			rel.source = ""
		}
		return rel
	}
	conn, schema, err := r.cat.Table(rv.Schemaname, name)
	if err != nil {
		r.fail(rv.Location, "%v", err)
		return nil
	}
	scan := &Scan{
		ID:         r.nextID(),
		Connection: conn,
		Table:      name,
		Schema:     schema,
		Quals:      map[string]*proto.Quals{},
		Limit:      -1,
		Offset:     int(rv.Location),
	}
	cols := make([]string, 0, len(schema.Columns))
	for _, c := range schema.Columns {
		cols = append(cols, c.Name)
	}
	if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
		// FROM t AS a(x, y) renames the leading columns.
		renamed := aliasColumns(rv.Alias)
		copy(cols, renamed)
	}
	return &relation{name: alias, columns: cols, node: n, rv: rv, scan: scan}
}

// conjuncts splits a boolean expression into its top-level AND terms.
func conjuncts(n *pg.Node) []*pg.Node {
	if n == nil {
		return nil
	}
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg.BoolExprType_AND_EXPR {
		var out []*pg.Node
		for _, a := range b.Args {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []*pg.Node{n}
}

var sdkOperators = map[string]string{
	"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
	"~~": "~~", "!~~": "!~~", "~~*": "~~*", "!~~*": "!~~*",
}

// flipped is the operator with its operands swapped: 5 < x is x > 5.
var flipped = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// pinQuals turns the conjuncts attached to a plugin relation into SDK quals: a column of
// that relation compared with a constant. Anything else stays with DuckDB alone.
func (r *rewriter) pinQuals(rel *relation, scope []*relation) {
	spec := rel.scan
	colType := map[string]proto.ColumnType{}
	for _, c := range spec.Schema.Columns {
		colType[c.Name] = c.Type
	}
	add := func(col, op string, v *proto.QualValue) {
		q := spec.Quals[col]
		if q == nil {
			q = &proto.Quals{}
			spec.Quals[col] = q
		}
		q.Quals = append(q.Quals, &proto.Qual{FieldName: col, Operator: &proto.Qual_StringValue{StringValue: op}, Value: v})
	}
	for _, c := range rel.conds {
		switch x := c.GetNode().(type) {
		case *pg.Node_AExpr:
			e := x.AExpr
			switch e.Kind {
			case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
				if len(e.Name) != 1 {
					continue
				}
				op := e.Name[0].GetString_().GetSval()
				col, val, swapped := r.columnVsConst(rel, scope, e.Lexpr, e.Rexpr)
				if col == "" {
					continue
				}
				if swapped {
					f, ok := flipped[op]
					if !ok {
						continue
					}
					op = f
				}
				sop, ok := sdkOperators[op]
				if !ok {
					continue
				}
				if v, ok := QualValue(colType[col], val); ok {
					add(col, sop, v)
				}
			case pg.A_Expr_Kind_AEXPR_IN:
				op := e.Name[0].GetString_().GetSval()
				if op != "=" {
					continue
				}
				col := r.ownColumn(rel, scope, e.Lexpr)
				list := e.Rexpr.GetList()
				if col == "" || list == nil {
					continue
				}
				var vals []*proto.QualValue
				for _, item := range list.Items {
					cv, ok := pgtree.ConstValue(item)
					if !ok {
						vals = nil
						break
					}
					v, ok := QualValue(colType[col], cv)
					if !ok {
						vals = nil
						break
					}
					vals = append(vals, v)
				}
				if len(vals) > 0 {
					add(col, "=", &proto.QualValue{Value: &proto.QualValue_ListValue{ListValue: &proto.QualValueList{Values: vals}}})
				}
			}
		case *pg.Node_NullTest:
			col := r.ownColumn(rel, scope, x.NullTest.Arg)
			if col == "" {
				continue
			}
			op := "is null"
			if x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL {
				op = "is not null"
			}
			add(col, op, nil)
		case *pg.Node_ColumnRef:
			if col := r.ownColumn(rel, scope, c); col != "" && colType[col] == proto.ColumnType_BOOL {
				add(col, "=", &proto.QualValue{Value: &proto.QualValue_BoolValue{BoolValue: true}})
			}
		case *pg.Node_BoolExpr:
			if x.BoolExpr.Boolop == pg.BoolExprType_NOT_EXPR && len(x.BoolExpr.Args) == 1 {
				if col := r.ownColumn(rel, scope, x.BoolExpr.Args[0]); col != "" && colType[col] == proto.ColumnType_BOOL {
					add(col, "=", &proto.QualValue{Value: &proto.QualValue_BoolValue{BoolValue: false}})
				}
			}
		}
	}
}

// joinParams finds key columns of rel that an equality pins to a column of another FROM
// item (`g.identity_store_id = i.identity_store_id`), or that `key IN (subquery)` pins.
// Steampipe runs such a scan once per outer value; here the scan first collects the
// distinct values of the other side, a plugin table, a subquery or a CTE, and passes them
// as an IN list. Only key columns without a constant qual are parameterised, so constant
// quals keep priority.
func (r *rewriter) joinParams(rel *relation, scope []*relation) {
	if checkRequired(rel.scan) == nil {
		return // constants pin enough; a parameter would only add a scan
	}
	keys := map[string]bool{}
	for _, k := range rel.scan.Schema.ListCallKeyColumnList {
		if k.Require == "required" || k.Require == "any_of" {
			keys[k.Name] = true
		}
	}
	for _, k := range rel.scan.Schema.GetCallKeyColumnList {
		if k.Require != "optional" {
			keys[k.Name] = true
		}
	}
	free := func(col string) bool {
		return col != "" && keys[col] && rel.scan.Quals[col] == nil && !rel.scan.HasParam(col)
	}
	for _, c := range rel.conds {
		// key IN (subquery): the subquery's values, when it stands on its own.
		if sl := c.GetSubLink(); sl != nil && sl.SubLinkType == pg.SubLinkType_ANY_SUBLINK && isEquality(sl.OperName) {
			col := r.ownColumn(rel, scope, sl.Testexpr)
			if text := r.sources[sl.Subselect.GetSelectStmt()]; free(col) && text != "" {
				rel.scan.Params = append(rel.scan.Params, &Param{Column: col,
					SQL: "SELECT DISTINCT * FROM (" + text + ") AS spout_param"})
			}
			continue
		}
		e := c.GetAExpr()
		if e == nil || e.Kind != pg.A_Expr_Kind_AEXPR_OP || !isEquality(e.Name) {
			continue
		}
		for _, sides := range [][2]*pg.Node{{e.Lexpr, e.Rexpr}, {e.Rexpr, e.Lexpr}} {
			col := r.ownColumn(rel, scope, sides[0])
			if !free(col) {
				continue
			}
			for _, other := range scope {
				if other == rel {
					continue
				}
				oc := r.ownColumn(other, scope, sides[1])
				if oc == "" {
					continue
				}
				if other.scan != nil && len(other.scan.Params) == 0 {
					rel.scan.Params = append(rel.scan.Params, &Param{Column: col, From: other.scan, FromColumn: oc})
					break
				}
				if other.scan == nil && other.source != "" {
					rel.scan.Params = append(rel.scan.Params, &Param{Column: col,
						SQL: "SELECT DISTINCT " + quoteIdent(oc) + " FROM (" + other.source + ") AS spout_param"})
					break
				}
			}
		}
	}
}

// jsonbColumnComparisons gives `json_column op 'literal'` conditions of rel Postgres's
// meaning, comparing jsonb values rather than text (the compat rules cannot see a plain
// column's type; here the table's schema says it). It runs after the quals are pinned.
func (r *rewriter) jsonbColumnComparisons(rel *relation, scope []*relation) {
	isJSON := map[string]bool{}
	for _, c := range rel.scan.Schema.Columns {
		isJSON[c.Name] = c.Type == proto.ColumnType_JSON
	}
	for _, c := range rel.conds {
		e := c.GetAExpr()
		if e == nil || e.Kind != pg.A_Expr_Kind_AEXPR_OP || len(e.Name) != 1 || flipped[e.Name[0].GetString_().GetSval()] == "" {
			continue
		}
		col, v, _ := r.columnVsConst(rel, scope, e.Lexpr, e.Rexpr)
		if _, isStr := v.(string); !isStr || !isJSON[col] {
			continue
		}
		cmp := pg.MakeFuncCallNode([]*pg.Node{pg.MakeStrNode(JSONBCompareFunc)}, []*pg.Node{e.Lexpr, e.Rexpr}, e.Location)
		c.Node = pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, e.Name, cmp, pg.MakeAConstIntNode(0, e.Location), e.Location).Node
	}
}

// isEquality reports whether an operator name list is plain = (an empty list is IN's).
func isEquality(name []*pg.Node) bool {
	return len(name) == 0 || len(name) == 1 && name[0].GetString_().GetSval() == "="
}

// columnVsConst matches "column op constant" in either order.
func (r *rewriter) columnVsConst(rel *relation, scope []*relation, l, rt *pg.Node) (col string, val any, swapped bool) {
	if c := r.ownColumn(rel, scope, l); c != "" {
		if v, ok := pgtree.ConstValue(rt); ok {
			return c, v, false
		}
	}
	if c := r.ownColumn(rel, scope, rt); c != "" {
		if v, ok := pgtree.ConstValue(l); ok {
			return c, v, true
		}
	}
	return "", nil, false
}

// ownColumn returns the column name when n is a reference to a column of rel, resolved
// the way Postgres resolves it within this FROM scope; "" when it is anything else or
// when it cannot be decided without binding.
func (r *rewriter) ownColumn(rel *relation, scope []*relation, n *pg.Node) string {
	cr := n.GetColumnRef()
	if cr == nil {
		return ""
	}
	var parts []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return ""
		}
		parts = append(parts, s.Sval)
	}
	col := parts[len(parts)-1]
	if !contains(rel.columns, col) {
		return ""
	}
	switch len(parts) {
	case 1:
		for _, other := range scope {
			if other == rel {
				continue
			}
			if other.columns == nil || contains(other.columns, col) {
				return ""
			}
		}
		return col
	case 2:
		if parts[0] == rel.name {
			return col
		}
	case 3:
		if rel.rv != nil && rel.rv.Alias == nil && parts[0] == rel.rv.Schemaname && parts[1] == rel.rv.Relname {
			return col
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// safeLimit returns the LIMIT (plus OFFSET) that can be handed to a lone plugin scan: only
// when nothing between the scan and the LIMIT can drop or multiply rows.
func (r *rewriter) safeLimit(s *pg.SelectStmt, rels []*relation) int64 {
	if s.LimitCount == nil || len(rels) != 1 || rels[0].scan == nil {
		return -1
	}
	if len(s.FromClause) != 1 || s.FromClause[0].GetRangeVar() == nil {
		return -1
	}
	if s.WhereClause != nil || len(s.GroupClause) > 0 || s.HavingClause != nil || len(s.DistinctClause) > 0 ||
		len(s.SortClause) > 0 || len(s.WindowClause) > 0 {
		return -1
	}
	for _, t := range s.TargetList {
		safe := true
		pgtree.Walk(t, func(n *pg.Node) bool {
			if fc := n.GetFuncCall(); fc != nil {
				if fc.Over != nil || fc.AggStar || aggregateOrSetReturning[strings.ToLower(funcName(fc))] {
					safe = false
				}
			}
			if n.GetSubLink() != nil {
				return false
			}
			return safe
		})
		if !safe {
			return -1
		}
	}
	count, ok := pgtree.ConstValue(s.LimitCount)
	n, isInt := count.(int64)
	if !ok || !isInt || n < 0 {
		return -1
	}
	if s.LimitOffset != nil {
		off, ok := pgtree.ConstValue(s.LimitOffset)
		o, isInt := off.(int64)
		if !ok || !isInt || o < 0 {
			return -1
		}
		n += o
	}
	return n
}

var aggregateOrSetReturning = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "array_agg": true,
	"json_agg": true, "jsonb_agg": true, "string_agg": true, "bool_and": true, "bool_or": true,
	"every": true, "json_object_agg": true, "jsonb_object_agg": true, "stddev": true, "variance": true,
	"percentile_cont": true, "percentile_disc": true, "mode": true,
	"unnest": true, "jsonb_array_elements": true, "jsonb_array_elements_text": true,
	"json_array_elements": true, "json_array_elements_text": true, "jsonb_each": true,
	"jsonb_each_text": true, "json_each": true, "json_each_text": true, "jsonb_object_keys": true,
	"json_object_keys": true, "generate_series": true, "regexp_matches": true,
	"string_to_table": true, "jsonb_path_query": true, "regexp_split_to_table": true,
}

// paramMarker flags, inside checkRequired only, a key column a join parameter will pin.
const paramMarker = "\x00param:"

// CheckRequired fails, with a *MissingQualError, a scan whose table needs key columns
// that neither its quals nor its parameters pin.
func CheckRequired(scan *Scan) error {
	err := checkRequired(scan)
	if mq, ok := err.(*MissingQualError); ok {
		mq.Offset = scan.Offset
	}
	return err
}

// checkRequired fails a scan whose table needs key columns the query does not pin.
func checkRequired(spec *Scan) error {
	if len(spec.Params) > 0 {
		quals := make(map[string]*proto.Quals, len(spec.Quals)+len(spec.Params))
		for k, v := range spec.Quals {
			quals[k] = v
		}
		for _, p := range spec.Params {
			quals[paramMarker+p.Column] = &proto.Quals{}
		}
		probe := *spec
		probe.Quals = quals
		probe.Params = nil
		spec = &probe
	}
	if satisfied(spec.Schema.GetCallKeyColumnList, spec.Quals) {
		return nil
	}
	var missing, anyOf []string
	for _, k := range spec.Schema.ListCallKeyColumnList {
		switch k.Require {
		case "required":
			if !hasQual(spec.Quals, k) {
				missing = append(missing, k.Name)
			}
		case "any_of":
			anyOf = append(anyOf, k.Name)
		}
	}
	if len(anyOf) > 0 {
		found := false
		for _, k := range spec.Schema.ListCallKeyColumnList {
			if k.Require == "any_of" && hasQual(spec.Quals, k) {
				found = true
			}
		}
		if !found {
			missing = append(missing, "one of "+strings.Join(anyOf, ", "))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &MissingQualError{Offset: -1, Table: spec.Table, Columns: missing}
}

// satisfied reports whether quals pin every non-optional key column of a Get. A table
// without a Get still lists the SDK's optional sp_connection_name, which pins nothing.
func satisfied(keys []*proto.KeyColumn, quals map[string]*proto.Quals) bool {
	pinned := false
	for _, k := range keys {
		if k.Require == "optional" {
			continue
		}
		if !hasQual(quals, k) {
			return false
		}
		pinned = true
	}
	return pinned
}

func hasQual(quals map[string]*proto.Quals, k *proto.KeyColumn) bool {
	if quals[paramMarker+k.Name] != nil {
		return true
	}
	q := quals[k.Name]
	if q == nil {
		return false
	}
	ops := k.Operators
	if len(ops) == 0 {
		ops = []string{"="}
	}
	for _, qual := range q.Quals {
		if contains(ops, qual.GetStringValue()) {
			return true
		}
	}
	return false
}
