package differential

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
	"github.com/spoutdev/spout/query"
)

// outcome is the comparison of one query.
type outcome struct {
	id, sql string
	pgErr   error // Postgres rejected the query: excluded from the count
	equal   bool
	kind    string // why not equal: spout error, column names, row count, values, order
	detail  string
	note    string // how order was checked, for the log
	spErr   error
	pg, sp  *result
}

// compare runs one query in both engines.
//
// Rules: column names must be equal and in order; values compare after canon/key (jsonb
// semantically, numbers numerically to 12 significant digits, timestamps as instants, text
// exactly). Without a top-level ORDER BY, rows compare as multisets. With one, rows compare
// in order, except that rows Postgres sorts as ties (equal sort keys, computed by Postgres
// itself) may come in any order. A top-level LIMIT picks an arbitrary subset of ties (or
// of all rows without ORDER BY) in either engine, so there the engine's rows must be as
// many as Postgres's and drawn from what Postgres returns without the LIMIT.
func compare(ctx context.Context, conn *pgx.Conn, eng *query.Engine, id, original string) outcome {
	sql := fixClock(original)
	o := outcome{id: id, sql: sql}
	pgRes, err := runPostgres(ctx, conn, sql)
	if err != nil {
		o.pgErr = err
		return o
	}
	o.pg = pgRes
	spRes, err := runSpout(ctx, eng, sql)
	if err != nil {
		o.spErr, o.kind, o.detail = err, "spout error", firstLineOf(err.Error())
		return o
	}
	o.sp = spRes
	if strings.Join(pgRes.cols, ",") != strings.Join(spRes.cols, ",") {
		o.kind = "column names"
		o.detail = fmt.Sprintf("postgres %q, spout %q", pgRes.cols, spRes.cols)
		return o
	}
	if agg := unorderedColumns(sql, pgRes.cols); len(agg) > 0 {
		sortUnordered(pgRes, agg)
		sortUnordered(spRes, agg)
		o.note = "aggregate elements sorted; "
	}
	top, limited, ordered := shapeOfQuery(sql)
	switch {
	case !ordered && !limited:
		o.note += "multiset"
		o.equal, o.kind, o.detail = sameMultiset(pgRes.rows, spRes.rows)
	case !ordered:
		o.note += "subset of unlimited"
		full, err := runPostgres(ctx, conn, withoutLimit(top))
		if err != nil {
			o.note = "multiset (unlimited probe failed)"
			o.equal, o.kind, o.detail = sameMultiset(pgRes.rows, spRes.rows)
			break
		}
		o.equal, o.kind, o.detail = subsetOf(pgRes.rows, spRes.rows, full.rows)
	default:
		var note string
		o.equal, o.kind, o.detail, note = orderedEqual(ctx, conn, top, pgRes, spRes, limited)
		o.note += note
	}
	return o
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// shapeOfQuery parses the query: its top-level SELECT, and whether that has LIMIT/OFFSET
// or ORDER BY.
func shapeOfQuery(sql string) (top *pg.SelectStmt, limited, ordered bool) {
	root, err := parseOne(sql)
	if err != nil {
		return nil, false, false
	}
	top = root.GetSelectStmt()
	if top == nil {
		return nil, false, false
	}
	return top, top.LimitCount != nil || top.LimitOffset != nil, len(top.SortClause) > 0
}

func deparse(s *pg.SelectStmt) (string, error) {
	return pg.Deparse(&pg.ParseResult{Version: parseVersion, Stmts: []*pg.RawStmt{{Stmt: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: s}}}}})
}

// withoutLimit is the query without its top-level LIMIT and OFFSET.
func withoutLimit(top *pg.SelectStmt) string {
	c := cloneSelect(top)
	c.LimitCount, c.LimitOffset = nil, nil
	c.LimitOption = pg.LimitOption_LIMIT_OPTION_DEFAULT
	s, _ := deparse(c)
	return s
}

func cloneSelect(s *pg.SelectStmt) *pg.SelectStmt {
	text, err := deparse(s)
	if err != nil {
		return s
	}
	root, err := parseOne(text)
	if err != nil {
		return s
	}
	return root.GetSelectStmt()
}

func count(rows [][]any) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[rowKey(r)]++
	}
	return m
}

func sameMultiset(pgRows, spRows [][]any) (bool, string, string) {
	a, b := count(pgRows), count(spRows)
	if len(pgRows) == len(spRows) && equalCounts(a, b) {
		return true, "", ""
	}
	kind := "values"
	if len(pgRows) != len(spRows) {
		kind = "row count"
	}
	return false, kind, diffRows(pgRows, spRows, a, b)
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	return true
}

// subsetOf: as many rows as Postgres, each drawn from Postgres's unlimited answer.
func subsetOf(pgRows, spRows, full [][]any) (bool, string, string) {
	if len(pgRows) != len(spRows) {
		return false, "row count", diffRows(pgRows, spRows, count(pgRows), count(spRows))
	}
	avail := count(full)
	for _, r := range spRows {
		k := rowKey(r)
		if avail[k] == 0 {
			return false, "values", diffRows(pgRows, spRows, count(pgRows), count(spRows))
		}
		avail[k]--
	}
	return true, "", ""
}

// diffRows describes the rows only one side has, and which columns differ when the two
// sides have the same number of rows.
func diffRows(pgRows, spRows [][]any, a, b map[string]int) string {
	var onlyPG, onlySP []string
	for k, n := range a {
		if d := n - b[k]; d > 0 {
			onlyPG = append(onlyPG, k)
		}
	}
	for k, n := range b {
		if d := n - a[k]; d > 0 {
			onlySP = append(onlySP, k)
		}
	}
	sort.Strings(onlyPG)
	sort.Strings(onlySP)
	var sb strings.Builder
	fmt.Fprintf(&sb, "postgres %d rows, spout %d rows", len(pgRows), len(spRows))
	if cols := differingColumns(pgRows, spRows); len(cols) > 0 {
		fmt.Fprintf(&sb, "; differing columns %v", cols)
	}
	for i, k := range onlyPG {
		if i == 3 {
			fmt.Fprintf(&sb, "\n    … %d more only in postgres", len(onlyPG)-3)
			break
		}
		sb.WriteString("\n    postgres: " + clip(k))
	}
	for i, k := range onlySP {
		if i == 3 {
			fmt.Fprintf(&sb, "\n    … %d more only in spout", len(onlySP)-3)
			break
		}
		sb.WriteString("\n    spout:    " + clip(k))
	}
	return sb.String()
}

// differingColumns pairs the rows of both sides, each sorted, and lists the column
// positions whose values differ.
func differingColumns(pgRows, spRows [][]any) []int {
	if len(pgRows) != len(spRows) || len(pgRows) == 0 {
		return nil
	}
	sorted := func(rows [][]any) [][]string {
		out := make([][]string, len(rows))
		for i, r := range rows {
			for _, v := range r {
				out[i] = append(out[i], key(v))
			}
		}
		sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "\x00") < strings.Join(out[j], "\x00") })
		return out
	}
	a, b := sorted(pgRows), sorted(spRows)
	var cols []int
	for c := range a[0] {
		for i := range a {
			if c < len(b[i]) && a[i][c] != b[i][c] {
				cols = append(cols, c)
				break
			}
		}
	}
	return cols
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// orderedEqual compares an ORDER BY result: Postgres computes each row's sort key (by
// position or output name when the ORDER BY names an output column, else by running the
// query with the sort expressions appended to its select list), rows with equal keys
// form ties, and the engine's rows must fill each tie group with the same rows in any
// order.
func orderedEqual(ctx context.Context, conn *pgx.Conn, top *pg.SelectStmt, pgRes, spRes *result, limited bool) (bool, string, string, string) {
	if len(pgRes.rows) != len(spRes.rows) {
		ok, kind, detail := sameMultiset(pgRes.rows, spRes.rows)
		return ok, kind, detail, "ordered"
	}
	ncols := len(pgRes.cols)
	var offset int64
	if top.LimitOffset != nil {
		v, ok := pgtree.ConstValue(top.LimitOffset)
		n, isInt := v.(int64)
		if !ok || !isInt {
			return strictOrder(pgRes, spRes, "ordered, strict (offset not constant)")
		}
		offset = n
	}
	// Which sort keys are output columns, and which need the probe.
	probe := cloneSelect(top)
	idx := make([]int, len(top.SortClause))
	needProbe := false
	for i, s := range top.SortClause {
		sb := s.GetSortBy()
		idx[i] = -1
		if v, ok := pgtree.ConstValue(sb.Node); ok {
			if n, isInt := v.(int64); isInt && n >= 1 && int(n) <= ncols {
				idx[i] = int(n) - 1
			}
		} else if cr := sb.Node.GetColumnRef(); cr != nil {
			if f := columnRefFields(cr); len(f) == 1 {
				for c, name := range pgRes.cols {
					if name == f[0] {
						idx[i] = c
						break
					}
				}
			}
		}
		if idx[i] < 0 {
			needProbe = true
		}
	}
	if needProbe {
		if probe.Op != pg.SetOperation_SETOP_NONE {
			return strictOrder(pgRes, spRes, "ordered, strict (set operation)")
		}
		extra := 0
		for i := range top.SortClause {
			if idx[i] >= 0 {
				continue
			}
			idx[i] = ncols + extra
			extra++
			probe.TargetList = append(probe.TargetList, pg.MakeResTargetNodeWithNameAndVal(fmt.Sprintf("spout_sort_key_%d", i), probe.SortClause[i].GetSortBy().Node, -1))
		}
	}
	full := pgRes.rows
	if needProbe || limited {
		probe.LimitCount, probe.LimitOffset = nil, nil
		probe.LimitOption = pg.LimitOption_LIMIT_OPTION_DEFAULT
		text, err := deparse(probe)
		if err != nil {
			return strictOrder(pgRes, spRes, "ordered, strict (probe: "+err.Error()+")")
		}
		res, err := runPostgres(ctx, conn, text)
		if err != nil {
			return strictOrder(pgRes, spRes, "ordered, strict (probe failed: "+firstLineOf(err.Error())+")")
		}
		full = res.rows
	}
	// Tie groups over Postgres's full ordered answer.
	group := make([]int, len(full))
	var groups [][][]any
	prev := ""
	for p, r := range full {
		var kb strings.Builder
		for _, c := range idx {
			kb.WriteString(key(r[c]) + "\x00")
		}
		k := kb.String()
		if p == 0 || k != prev {
			groups = append(groups, nil)
		}
		prev = k
		group[p] = len(groups) - 1
		groups[len(groups)-1] = append(groups[len(groups)-1], r[:ncols])
	}
	if int(offset)+len(spRes.rows) > len(full) {
		return strictOrder(pgRes, spRes, "ordered, strict (probe returned fewer rows)")
	}
	avail := make([]map[string]int, len(groups))
	for g, rows := range groups {
		avail[g] = count(rows)
	}
	for p, r := range spRes.rows {
		g := group[int(offset)+p]
		k := rowKey(r)
		if avail[g][k] == 0 {
			if ok, _, _ := sameMultiset(pgRes.rows, spRes.rows); ok {
				return false, "order", fmt.Sprintf("same rows, different order: row %d is %s, postgres has %s", p+1, clip(k), clip(rowKey(pgRes.rows[p]))), "ordered with ties"
			}
			_, kind, detail := sameMultiset(pgRes.rows, spRes.rows)
			return false, kind, detail, "ordered with ties"
		}
		avail[g][k]--
	}
	return true, "", "", "ordered with ties"
}

func strictOrder(pgRes, spRes *result, note string) (bool, string, string, string) {
	for p := range pgRes.rows {
		if rowKey(pgRes.rows[p]) != rowKey(spRes.rows[p]) {
			if ok, _, _ := sameMultiset(pgRes.rows, spRes.rows); ok {
				return false, "order", fmt.Sprintf("same rows, different order at row %d", p+1), note
			}
			_, kind, detail := sameMultiset(pgRes.rows, spRes.rows)
			return false, kind, detail, note
		}
	}
	return true, "", "", note
}
