package differential

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

// The fixture's rows are shaped by the corpus itself: before generating data, every query
// over the fixture tables is read for what it expects of each column, so the generated
// values exercise the queries instead of leaving every JSON path NULL and every filter
// empty. It learns:
//   - the JSON paths a query walks (policy_std -> 'Statement', s ->> 'Effect' with s from
//     jsonb_array_elements(...), #> '{a,b}', ?, @>), which parts are arrays or objects, and
//     the literals the paths are compared with;
//   - the literals scalar columns are compared with (state = 'running', LIKE patterns,
//     IN lists, numeric thresholds);
//   - the column pairs joins equate across tables, so joins find partners.

type colKey struct{ table, column string }

type stepKind int

const (
	stepKey    stepKind = iota // object member
	stepElem                   // any array element (index or jsonb_array_elements)
	stepAnyKey                 // any object member (jsonb_each, a computed key)
)

type step struct {
	kind stepKind
	key  string
}

// ref is a JSON path rooted at a plugin column.
type ref struct {
	col  colKey
	path []step
}

func (r ref) id() string {
	var b strings.Builder
	b.WriteString(r.col.table + "." + r.col.column)
	for _, s := range r.path {
		switch s.kind {
		case stepKey:
			b.WriteString("." + strconv.Quote(s.key))
		case stepElem:
			b.WriteString("[]")
		default:
			b.WriteString(".*")
		}
	}
	return b.String()
}

func (r ref) with(s step) ref {
	p := make([]step, len(r.path), len(r.path)+1)
	copy(p, r.path)
	return ref{col: r.col, path: append(p, s)}
}

// shape is what the corpus does with one JSON value.
type shape struct {
	keys   map[string]*shape
	order  []string
	elem   *shape
	array  bool
	object bool
	strs   []string
	nums   []float64
	hint   string // bool, int, num, time, text
	wholes []any  // JSON literals the value is compared with as a whole
}

func (s *shape) child(k string) *shape {
	if s.keys == nil {
		s.keys = map[string]*shape{}
	}
	c, ok := s.keys[k]
	if !ok {
		c = &shape{}
		s.keys[k] = c
		s.order = append(s.order, k)
	}
	return c
}

func (s *shape) at(path []step) *shape {
	cur := s
	for _, st := range path {
		switch st.kind {
		case stepKey:
			cur.object = true
			cur = cur.child(st.key)
		case stepElem:
			cur.array = true
			if cur.elem == nil {
				cur.elem = &shape{}
			}
			cur = cur.elem
		case stepAnyKey:
			cur.object = true
			cur = cur.child("*")
		}
	}
	return cur
}

func (s *shape) addStr(v string) {
	if !slices.Contains(s.strs, v) {
		s.strs = append(s.strs, v)
	}
}

func (s *shape) addNum(v float64) {
	if !slices.Contains(s.nums, v) {
		s.nums = append(s.nums, v)
	}
}

// merge records a JSON literal the path is compared with (@>, = '"x"'::jsonb).
func (s *shape) merge(v any) {
	switch x := v.(type) {
	case map[string]any:
		s.object = true
		for _, k := range sortedKeys(x) {
			s.child(k).merge(x[k])
		}
	case []any:
		s.array = true
		if s.elem == nil {
			s.elem = &shape{}
		}
		for _, e := range x {
			s.elem.merge(e)
		}
	case string:
		s.addStr(x)
	case float64:
		s.addNum(x)
	case bool:
		s.hint = "bool"
	}
}

// facts is what the corpus expects of the fixture tables.
type facts struct {
	schemas map[string][]column
	types   map[colKey]proto.ColumnType
	json    map[colKey]*shape
	strs    map[colKey][]string
	nums    map[colKey][]float64
	joins   map[[2]colKey]bool
	casts   map[colKey]string // text columns the corpus casts: int, num, bool, time
}

func newFacts(schemas map[string][]column) *facts {
	f := &facts{schemas: schemas, types: map[colKey]proto.ColumnType{}, json: map[colKey]*shape{},
		strs: map[colKey][]string{}, nums: map[colKey][]float64{}, joins: map[[2]colKey]bool{}, casts: map[colKey]string{}}
	for t, cols := range schemas {
		for _, c := range cols {
			f.types[colKey{t, c.name}] = c.typ
		}
	}
	return f
}

func (f *facts) shapeOf(k colKey) *shape {
	s, ok := f.json[k]
	if !ok {
		s = &shape{}
		f.json[k] = s
	}
	return s
}

func (f *facts) addStr(k colKey, v string) {
	if !slices.Contains(f.strs[k], v) {
		f.strs[k] = append(f.strs[k], v)
	}
}

func (f *facts) addNum(k colKey, v float64) {
	if !slices.Contains(f.nums[k], v) {
		f.nums[k] = append(f.nums[k], v)
	}
}

// miner reads one query.
type miner struct {
	f       *facts
	tables  []string          // fixture tables the query reads
	rels    map[string]string // FROM name (alias or table) -> table
	aliases map[string][]ref  // output/alias names -> the JSON paths they stand for
	srf     map[string]srfAlias
}

type srfAlias struct {
	value []ref    // what alias.value (or the alias itself) is
	cols  []string // column alias list
}

var arrayFuncs = map[string]bool{"jsonb_array_elements": true, "json_array_elements": true,
	"jsonb_array_elements_text": true, "json_array_elements_text": true}
var eachFuncs = map[string]bool{"jsonb_each": true, "json_each": true, "jsonb_each_text": true, "json_each_text": true}

func (f *facts) mine(sql string, tables []string) {
	root, err := parseOne(sql)
	if err != nil {
		return
	}
	m := &miner{f: f, tables: tables, rels: map[string]string{}, aliases: map[string][]ref{}, srf: map[string]srfAlias{}}
	pgtree.Walk(root, func(n *pg.Node) bool {
		if rv := n.GetRangeVar(); rv != nil {
			if _, ok := f.schemas[rv.Relname]; ok {
				name := rv.Relname
				if rv.Alias != nil {
					name = rv.Alias.Aliasname
				}
				m.rels[name] = rv.Relname
			}
		}
		return true
	})
	// Aliases can be defined in terms of other aliases: settle them in a few passes.
	for range 3 {
		pgtree.Walk(root, func(n *pg.Node) bool {
			switch x := n.Node.(type) {
			case *pg.Node_RangeFunction:
				m.defineSRF(x.RangeFunction)
			case *pg.Node_ResTarget:
				m.defineTarget(x.ResTarget)
			}
			return true
		})
	}
	pgtree.Walk(root, func(n *pg.Node) bool {
		m.learn(n)
		return true
	})
}

func (m *miner) addAlias(name string, refs []ref) {
	have := map[string]bool{}
	for _, r := range m.aliases[name] {
		have[r.id()] = true
	}
	for _, r := range refs {
		if !have[r.id()] {
			m.aliases[name] = append(m.aliases[name], r)
			have[r.id()] = true
		}
	}
}

func (m *miner) defineSRF(rf *pg.RangeFunction) {
	for _, item := range rf.Functions {
		l := item.GetList()
		if l == nil || len(l.Items) == 0 {
			continue
		}
		fc := l.Items[0].GetFuncCall()
		if fc == nil || len(fc.Args) == 0 {
			continue
		}
		name := funcName(fc)
		base := m.paths(fc.Args[0])
		var value []ref
		switch {
		case arrayFuncs[name]:
			for _, r := range base {
				value = append(value, r.with(step{kind: stepElem}))
			}
		case eachFuncs[name]:
			for _, r := range base {
				value = append(value, r.with(step{kind: stepAnyKey}))
			}
		default:
			continue
		}
		alias := name
		var cols []string
		if rf.Alias != nil {
			alias = rf.Alias.Aliasname
			for _, c := range rf.Alias.Colnames {
				cols = append(cols, c.GetString_().GetSval())
			}
		}
		m.srf[alias] = srfAlias{value: value, cols: cols}
		m.addAlias(alias, value)
		m.addAlias("value", value)
		if len(cols) > 0 {
			m.addAlias(cols[len(cols)-1], value)
		}
	}
}

func (m *miner) defineTarget(rt *pg.ResTarget) {
	if rt.Val == nil {
		return
	}
	name := rt.Name
	if fc := rt.Val.GetFuncCall(); fc != nil && len(fc.Args) > 0 {
		fn := funcName(fc)
		if arrayFuncs[fn] || eachFuncs[fn] {
			if name == "" {
				name = fn
			}
			kind := stepElem
			if eachFuncs[fn] {
				kind = stepAnyKey
			}
			var refs []ref
			for _, r := range m.paths(fc.Args[0]) {
				refs = append(refs, r.with(step{kind: kind}))
			}
			m.addAlias(name, refs)
			return
		}
	}
	if name == "" {
		return
	}
	// An output name that is also a column name: later references mean the column.
	for _, t := range m.tables {
		if _, ok := m.f.types[colKey{t, name}]; ok {
			return
		}
	}
	m.addAlias(name, m.paths(rt.Val))
}

// columns resolves a column reference to plugin columns of any type.
func (m *miner) columns(cr *pg.ColumnRef) []colKey {
	fields := columnRefFields(cr)
	if len(fields) == 0 {
		return nil
	}
	last := fields[len(fields)-1]
	var out []colKey
	if len(fields) >= 2 {
		if t, ok := m.rels[fields[len(fields)-2]]; ok {
			if _, ok := m.f.types[colKey{t, last}]; ok {
				out = append(out, colKey{t, last})
			}
		}
		return out
	}
	for _, t := range m.tables {
		if _, ok := m.f.types[colKey{t, last}]; ok {
			out = append(out, colKey{t, last})
		}
	}
	return out
}

// paths resolves an expression to the JSON paths it reads.
func (m *miner) paths(n *pg.Node) []ref {
	if n == nil {
		return nil
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		fields := columnRefFields(x.ColumnRef)
		if len(fields) == 0 {
			return nil
		}
		var out []ref
		for _, k := range m.columns(x.ColumnRef) {
			if m.f.types[k] == proto.ColumnType_JSON {
				out = append(out, ref{col: k})
			}
		}
		last := fields[len(fields)-1]
		if len(fields) == 1 {
			out = append(out, m.aliases[last]...)
		} else {
			q := fields[len(fields)-2]
			if a, ok := m.srf[q]; ok {
				if last == "value" || (len(a.cols) > 0 && last == a.cols[len(a.cols)-1]) {
					out = append(out, a.value...)
				}
			} else if _, isTable := m.rels[q]; !isTable {
				out = append(out, m.aliases[last]...)
			}
		}
		return out
	case *pg.Node_TypeCast:
		return m.paths(x.TypeCast.Arg)
	case *pg.Node_CoalesceExpr:
		if len(x.CoalesceExpr.Args) > 0 {
			return m.paths(x.CoalesceExpr.Args[0])
		}
	case *pg.Node_AExpr:
		e := x.AExpr
		switch opName(e) {
		case "->", "->>":
			st := step{kind: stepAnyKey}
			if v, ok := pgtree.ConstValue(e.Rexpr); ok {
				switch k := v.(type) {
				case string:
					st = step{kind: stepKey, key: k}
				case int64:
					st = step{kind: stepElem}
				}
			}
			var out []ref
			for _, r := range m.paths(e.Lexpr) {
				out = append(out, r.with(st))
			}
			return out
		case "#>", "#>>":
			keys, ok := textArray(e.Rexpr)
			if !ok {
				return nil
			}
			var out []ref
			for _, r := range m.paths(e.Lexpr) {
				for _, k := range keys {
					if _, err := strconv.Atoi(k); err == nil {
						r = r.with(step{kind: stepElem})
					} else {
						r = r.with(step{kind: stepKey, key: k})
					}
				}
				out = append(out, r)
			}
			return out
		}
	case *pg.Node_FuncCall:
		fc := x.FuncCall
		name := funcName(fc)
		if len(fc.Args) == 0 {
			return nil
		}
		switch {
		case strings.HasPrefix(name, "jsonb_extract_path") || strings.HasPrefix(name, "json_extract_path"):
			var out []ref
			for _, r := range m.paths(fc.Args[0]) {
				for _, a := range fc.Args[1:] {
					v, _ := pgtree.ConstValue(a)
					k, ok := v.(string)
					if !ok {
						r = r.with(step{kind: stepAnyKey})
					} else {
						r = r.with(step{kind: stepKey, key: k})
					}
				}
				out = append(out, r)
			}
			return out
		case arrayFuncs[name]:
			var out []ref
			for _, r := range m.paths(fc.Args[0]) {
				out = append(out, r.with(step{kind: stepElem}))
			}
			return out
		case name == "coalesce" || name == "lower" || name == "upper" || name == "trim":
			return m.paths(fc.Args[0])
		}
	}
	return nil
}

// textArray reads '{a,b}' or ARRAY['a','b'].
func textArray(n *pg.Node) ([]string, bool) {
	if arr := n.GetAArrayExpr(); arr != nil {
		var out []string
		for _, el := range arr.Elements {
			v, ok := pgtree.ConstValue(el)
			s, isStr := v.(string)
			if !ok || !isStr {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	if tc := n.GetTypeCast(); tc != nil {
		return textArray(tc.Arg)
	}
	v, ok := pgtree.ConstValue(n)
	s, isStr := v.(string)
	if !ok || !isStr {
		return nil, false
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, false
	}
	var out []string
	for _, p := range strings.Split(s[1:len(s)-1], ",") {
		if p = strings.Trim(strings.TrimSpace(p), `"`); p != "" {
			out = append(out, p)
		}
	}
	return out, true
}

// likeExample turns a LIKE pattern into a string it matches.
func likeExample(p string) string {
	var b strings.Builder
	esc := false
	for _, r := range p {
		switch {
		case esc:
			b.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
		case r == '%':
		case r == '_':
			b.WriteByte('x')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var comparisons = map[string]bool{"=": true, "<>": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"~~": true, "~~*": true, "!~~": true, "!~~*": true}

func (m *miner) learn(n *pg.Node) {
	switch x := n.Node.(type) {
	case *pg.Node_AExpr:
		e := x.AExpr
		op := opName(e)
		switch {
		case op == "->" || op == "->>" || op == "#>" || op == "#>>":
			for _, r := range m.paths(n) {
				m.f.shapeOf(r.col).at(r.path)
			}
		case op == "?" || op == "?|" || op == "?&":
			var keys []string
			if op == "?" {
				if v, ok := pgtree.ConstValue(e.Rexpr); ok {
					if s, ok := v.(string); ok {
						keys = []string{s}
					}
				}
			} else {
				keys, _ = textArray(e.Rexpr)
			}
			for _, r := range m.paths(e.Lexpr) {
				s := m.f.shapeOf(r.col).at(r.path)
				for _, k := range keys {
					if s.array {
						if s.elem == nil {
							s.elem = &shape{}
						}
						s.elem.addStr(k)
					} else {
						s.child(k)
						s.object = true
					}
				}
			}
		case op == "@>" || op == "<@":
			l, r := e.Lexpr, e.Rexpr
			if op == "<@" {
				l, r = r, l
			}
			v, ok := pgtree.ConstValue(r)
			s, isStr := v.(string)
			var lit any
			if !ok || !isStr || json.Unmarshal([]byte(s), &lit) != nil {
				return
			}
			for _, p := range m.paths(l) {
				m.f.shapeOf(p.col).at(p.path).merge(lit)
			}
		case e.Kind == pg.A_Expr_Kind_AEXPR_IN:
			var lits []any
			for _, item := range e.Rexpr.GetList().GetItems() {
				if v, ok := pgtree.ConstValue(item); ok {
					lits = append(lits, v)
				}
			}
			m.literal(e.Lexpr, lits, false)
		case comparisons[op] || e.Kind == pg.A_Expr_Kind_AEXPR_LIKE || e.Kind == pg.A_Expr_Kind_AEXPR_ILIKE:
			like := strings.Contains(op, "~~") || e.Kind == pg.A_Expr_Kind_AEXPR_LIKE || e.Kind == pg.A_Expr_Kind_AEXPR_ILIKE
			if v, ok := pgtree.ConstValue(e.Rexpr); ok {
				m.literal(e.Lexpr, []any{v}, like)
			} else if v, ok := pgtree.ConstValue(e.Lexpr); ok {
				m.literal(e.Rexpr, []any{v}, like)
			} else if op == "=" && e.Lexpr.GetColumnRef() != nil && e.Rexpr.GetColumnRef() != nil {
				for _, a := range m.columns(e.Lexpr.GetColumnRef()) {
					for _, b := range m.columns(e.Rexpr.GetColumnRef()) {
						if a.table != b.table && m.f.types[a] != proto.ColumnType_JSON && m.f.types[b] != proto.ColumnType_JSON {
							if b.table < a.table {
								a, b = b, a
							}
							m.f.joins[[2]colKey{a, b}] = true
						}
					}
				}
			}
		}
	case *pg.Node_FuncCall:
		fc := x.FuncCall
		name := funcName(fc)
		if len(fc.Args) == 0 {
			return
		}
		switch {
		case arrayFuncs[name] || name == "jsonb_array_length" || name == "json_array_length":
			for _, r := range m.paths(fc.Args[0]) {
				s := m.f.shapeOf(r.col).at(r.path)
				s.array = true
				if s.elem == nil {
					s.elem = &shape{}
				}
				if strings.HasSuffix(name, "_text") {
					s.elem.hint = "text"
				}
			}
		case eachFuncs[name] || name == "jsonb_object_keys" || name == "json_object_keys":
			for _, r := range m.paths(fc.Args[0]) {
				m.f.shapeOf(r.col).at(r.path).object = true
			}
		}
	case *pg.Node_TypeCast:
		hint := ""
		switch typeName(x.TypeCast.TypeName) {
		case "int", "int2", "int4", "int8", "integer", "bigint":
			hint = "int"
		case "numeric", "float4", "float8", "decimal":
			hint = "num"
		case "bool", "boolean":
			hint = "bool"
		case "timestamp", "timestamptz", "date":
			hint = "time"
		}
		if hint == "" {
			return
		}
		for _, r := range m.paths(x.TypeCast.Arg) {
			if len(r.path) > 0 {
				m.f.shapeOf(r.col).at(r.path).hint = hint
			}
		}
		if cr := x.TypeCast.Arg.GetColumnRef(); cr != nil {
			for _, k := range m.columns(cr) {
				if m.f.types[k] == proto.ColumnType_STRING {
					m.f.casts[k] = hint
				}
			}
		}
	case *pg.Node_NullTest:
		for _, r := range m.paths(x.NullTest.Arg) {
			m.f.shapeOf(r.col).at(r.path)
		}
	}
}

// literal records that expression n is compared with lits.
func (m *miner) literal(n *pg.Node, lits []any, like bool) {
	norm := func(v any) any {
		if s, ok := v.(string); ok && like {
			return likeExample(s)
		}
		return v
	}
	if paths := m.paths(n); len(paths) > 0 {
		for _, r := range paths {
			s := m.f.shapeOf(r.col).at(r.path)
			if len(r.path) == 0 {
				// The whole column compared with a JSON literal: use it as a value.
				for _, v := range lits {
					var j any
					if x, ok := v.(string); ok && !like && json.Unmarshal([]byte(x), &j) == nil {
						s.wholes = append(s.wholes, j)
					}
				}
				continue
			}
			for _, v := range lits {
				switch x := norm(v).(type) {
				case string:
					var j any
					if strings.HasPrefix(x, `"`) && json.Unmarshal([]byte(x), &j) == nil {
						s.merge(j)
					} else if x == "true" || x == "false" {
						s.hint = "bool"
					} else {
						s.addStr(x)
					}
				case int64:
					s.addNum(float64(x))
				case float64:
					s.addNum(x)
				case bool:
					s.hint = "bool"
				}
			}
		}
		return
	}
	var cr *pg.ColumnRef
	switch {
	case n.GetColumnRef() != nil:
		cr = n.GetColumnRef()
	case n.GetTypeCast() != nil && n.GetTypeCast().Arg.GetColumnRef() != nil:
		cr = n.GetTypeCast().Arg.GetColumnRef()
	case n.GetFuncCall() != nil && len(n.GetFuncCall().Args) == 1 && n.GetFuncCall().Args[0].GetColumnRef() != nil:
		cr = n.GetFuncCall().Args[0].GetColumnRef() // lower(x) = 'y'
	default:
		return
	}
	for _, k := range m.columns(cr) {
		numeric := m.f.types[k] == proto.ColumnType_INT || m.f.types[k] == proto.ColumnType_DOUBLE
		for _, v := range lits {
			switch x := norm(v).(type) {
			case string:
				if f, err := strconv.ParseFloat(x, 64); err == nil && numeric {
					m.f.addNum(k, f)
					continue
				}
				m.f.addStr(k, x)
			case int64:
				m.f.addNum(k, float64(x))
			case float64:
				m.f.addNum(k, x)
			}
		}
	}
}

// sortedJoins lists the join pairs in a stable order.
func (f *facts) sortedJoins() [][2]colKey {
	var out [][2]colKey
	for j := range f.joins {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool {
		a, b := out[i], out[k]
		if a[0] != b[0] {
			return a[0].table+"."+a[0].column < b[0].table+"."+b[0].column
		}
		return a[1].table+"."+a[1].column < b[1].table+"."+b[1].column
	})
	return out
}
