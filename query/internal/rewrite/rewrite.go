// Package rewrite turns a Postgres-dialect query into the SQL DuckDB runs. It parses with
// Postgres's own grammar, resolves every table reference through a Catalog, pushes the
// columns, quals and limits the query pins down to each plugin-table scan, applies the
// Postgres-compat rules and prints the tree. It runs no SQL: DuckDB is the caller's.
package rewrite

import (
	"errors"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/spoutdev/spout/internal/pgtree"
)

// Catalog resolves table references. The rewriter knows tables only through it.
type Catalog interface {
	// Table resolves schema.table, or table through the search path when schema is "".
	// It returns the connection the reference names (maybe an aggregator) and the table's
	// schema; an error's text is shown to the user as is.
	Table(schema, table string) (connection string, ts *proto.TableSchema, err error)
}

// Plan is a user query made ready for DuckDB: the rewritten text and the plugin scans it
// refers to, in the order they appear.
type Plan struct {
	SQL   string
	Scans []*Scan
	// Ordered is set when the outermost query has ORDER BY: its rows come sorted, and so
	// held, by the SQL engine.
	Ordered bool
}

// rewriter rewrites one query; see Rewrite.
type rewriter struct {
	cat    Catalog
	nextID func() string
	sql    string
	ctes   map[string]bool
	scans  []*Scan
	// generated marks subqueries the compat rules built, which must not be rewritten again.
	generated      map[*pg.SelectStmt]bool
	generatedCalls map[*pg.FuncCall]bool
	// threePart lists conn.table references whose columns may be written conn.table.col;
	// the scan subquery is aliased by the bare table name, so such refs lose the conn.
	threePart [][2]string
	// sources holds, for each subquery and CTE body, its text as the user wrote it
	// (before any rewrite), so a join can pin a key column to the values it yields.
	sources map[*pg.SelectStmt]string
	cteDefs []cteDef
	err     error
}

// cteDef is one WITH entry as the user wrote it.
type cteDef struct {
	name    string
	text    string // name [(cols)] AS (query)
	columns []string
}

// Rewrite rewrites sql for DuckDB, resolving tables through cat. nextID names each scan
// (the ID the scan function receives); it must not repeat within a database. Errors are
// *Error or *MissingQualError, located in sql.
func Rewrite(sql string, cat Catalog, nextID func() string) (*Plan, error) {
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, parseError(sql, err)
	}
	if len(tree.Stmts) == 0 {
		return nil, &Error{Offset: -1, Msg: "empty query"}
	}
	if len(tree.Stmts) > 1 {
		return nil, &Error{Offset: skipSpace(sql, int(tree.Stmts[1].StmtLocation)), Msg: "only one statement per query"}
	}
	raw := tree.Stmts[0]
	sel := raw.Stmt.GetSelectStmt()
	if sel == nil {
		return nil, &Error{Offset: int(raw.StmtLocation), Msg: fmt.Sprintf("only SELECT queries can run; this is %s", stmtKind(raw.Stmt))}
	}
	if sel.IntoClause != nil {
		return nil, &Error{Offset: int(raw.StmtLocation), Msg: "SELECT INTO is not allowed"}
	}
	ordered := len(sel.SortClause) > 0
	r := &rewriter{cat: cat, nextID: nextID, sql: sql, ctes: map[string]bool{}, generated: map[*pg.SelectStmt]bool{}, generatedCalls: map[*pg.FuncCall]bool{}}
	var badParam *pg.ParamRef
	pgtree.Walk(raw.Stmt, func(n *pg.Node) bool {
		if p := n.GetParamRef(); p != nil && p.Number < 1 && badParam == nil {
			badParam = p
		}
		return badParam == nil
	})
	if badParam != nil {
		// The printer writes $0 as "?", which no SQL engine reads back.
		return nil, &Error{Offset: int(badParam.Location), Msg: fmt.Sprintf("there is no parameter $%d", badParam.Number)}
	}
	r.collectCTEs(raw.Stmt)
	r.collectSources(tree.Version, raw.Stmt)
	r.compat(raw.Stmt)
	if r.err != nil {
		return nil, r.err
	}
	// Every SELECT in the tree, nested ones included, gets its FROM resolved once.
	pgtree.WalkSelects(raw.Stmt, func(s *pg.SelectStmt) bool {
		r.selectStmt(s)
		return r.err == nil
	})
	if r.err != nil {
		return nil, r.err
	}
	if len(r.threePart) > 0 {
		pgtree.Walk(raw.Stmt, func(n *pg.Node) bool {
			cr := n.GetColumnRef()
			if cr == nil || len(cr.Fields) != 3 {
				return true
			}
			for _, tp := range r.threePart {
				if cr.Fields[0].GetString_().GetSval() == tp[0] && cr.Fields[1].GetString_().GetSval() == tp[1] {
					cr.Fields = cr.Fields[1:]
					break
				}
			}
			return true
		})
	}
	out, err := pg.Deparse(tree)
	if err != nil {
		return nil, fmt.Errorf("printing rewritten query: %w", err)
	}
	// The printer silently drops some constructs; a text that no longer parses would
	// reach the SQL engine as a confusing syntax error, or worse, as another query.
	if _, err := pg.Parse(out); err != nil {
		return nil, &Error{Offset: -1, Msg: "Spout cannot translate this query (its rewritten text does not parse: " + err.Error() + ")", Err: err}
	}
	return &Plan{SQL: out, Scans: r.scans, Ordered: ordered}, nil
}

// skipSpace moves pos past whitespace and -- comments, to where a statement really starts.
func skipSpace(sql string, pos int) int {
	for pos < len(sql) {
		switch {
		case sql[pos] == ' ' || sql[pos] == '\t' || sql[pos] == '\n' || sql[pos] == '\r':
			pos++
		case strings.HasPrefix(sql[pos:], "--"):
			for pos < len(sql) && sql[pos] != '\n' {
				pos++
			}
		default:
			return pos
		}
	}
	return pos
}

func parseError(sql string, err error) error {
	var perr *pgparser.Error
	if errors.As(err, &perr) {
		pos := -1
		if perr.Cursorpos > 0 {
			pos = runeToByte(sql, perr.Cursorpos-1)
		}
		return &Error{Offset: pos, Msg: perr.Message, Err: err}
	}
	return &Error{Offset: -1, Msg: err.Error(), Err: err}
}

// runeToByte converts Postgres's character cursor into a byte offset.
func runeToByte(s string, runes int) int {
	i := 0
	for off := range s {
		if i == runes {
			return off
		}
		i++
	}
	return len(s)
}

func stmtKind(n *pg.Node) string {
	name := fmt.Sprintf("%T", n.GetNode())
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	name = strings.TrimSuffix(name, "Stmt")
	switch name {
	case "VariableSet":
		return "a SET statement"
	case "Copy":
		return "a COPY statement"
	}
	return "a " + strings.ToUpper(name) + " statement"
}

func (r *rewriter) fail(pos int32, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Offset: int(pos), Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *rewriter) collectCTEs(root *pg.Node) {
	pgtree.Walk(root, func(n *pg.Node) bool {
		if c := n.GetCommonTableExpr(); c != nil {
			r.ctes[c.Ctename] = true
		}
		return true
	})
}

// collectSources records the original text of every subquery and CTE body; it runs
// before the compat rules change the tree.
func (r *rewriter) collectSources(version int32, root *pg.Node) {
	r.sources = map[*pg.SelectStmt]string{}
	record := func(n *pg.Node) string {
		sel := n.GetSelectStmt()
		if sel == nil {
			return ""
		}
		text, err := pg.Deparse(&pg.ParseResult{Version: version, Stmts: []*pg.RawStmt{{Stmt: n}}})
		if err != nil {
			return ""
		}
		r.sources[sel] = text
		return text
	}
	pgtree.Walk(root, func(n *pg.Node) bool {
		switch x := n.GetNode().(type) {
		case *pg.Node_RangeSubselect:
			record(x.RangeSubselect.Subquery)
		case *pg.Node_SubLink:
			record(x.SubLink.Subselect)
		case *pg.Node_SelectStmt:
			w := x.SelectStmt.WithClause
			if w == nil || w.Recursive {
				return true
			}
			for _, c := range w.Ctes {
				cte := c.GetCommonTableExpr()
				if cte == nil {
					continue
				}
				text := record(cte.Ctequery)
				if text == "" {
					continue
				}
				cols := aliasColumns(&pg.Alias{Colnames: cte.Aliascolnames})
				head := quoteIdent(cte.Ctename)
				if len(cols) > 0 {
					quoted := make([]string, len(cols))
					for i, c := range cols {
						quoted[i] = quoteIdent(c)
					}
					head += "(" + strings.Join(quoted, ", ") + ")"
				} else {
					cols = targetNames(cte.Ctequery.GetSelectStmt())
				}
				r.cteDefs = append(r.cteDefs, cteDef{name: cte.Ctename, text: head + " AS (" + text + ")", columns: cols})
			}
		}
		return true
	})
}

// cteSource is the text of a query over CTE name that carries the WITH entries up to
// and including it; "" when name is not a CTE the rewriter recorded.
func (r *rewriter) cteSource(name string) (string, []string) {
	for i, d := range r.cteDefs {
		if d.name != name {
			continue
		}
		defs := make([]string, 0, i+1)
		for _, prev := range r.cteDefs[:i+1] {
			defs = append(defs, prev.text)
		}
		return "WITH " + strings.Join(defs, ", ") + " SELECT * FROM " + quoteIdent(name), d.columns
	}
	return "", nil
}

// replace swaps the table reference for a subquery over the scan function. The subquery
// restores plugin types DuckDB's table-function API cannot declare (JSON).
func (r *rewriter) replace(rel *relation) {
	spec := rel.scan
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range spec.Schema.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		q := quoteIdent(c.Name)
		if c.Type == proto.ColumnType_JSON {
			fmt.Fprintf(&b, "CAST(%s AS json) AS %s", q, q)
		} else {
			b.WriteString(q)
		}
	}
	fmt.Fprintf(&b, " FROM %s('%s')", ScanFunc, spec.ID)
	tree, err := pg.Parse(b.String())
	if err != nil {
		r.err = fmt.Errorf("building scan of %s: %w", spec.Table, err)
		return
	}
	pgtree.Walk(tree.Stmts[0].Stmt, func(n *pg.Node) bool {
		if tc := n.GetTypeCast(); tc != nil {
			renameType(tc.TypeName)
		}
		return true
	})
	alias := rel.rv.Alias
	if alias == nil {
		alias = &pg.Alias{Aliasname: rel.rv.Relname}
	}
	if rel.rv.Alias == nil && rel.rv.Schemaname != "" {
		r.threePart = append(r.threePart, [2]string{rel.rv.Schemaname, rel.rv.Relname})
	}
	rel.node.Node = &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{
		Subquery: tree.Stmts[0].Stmt,
		Alias:    alias,
	}}
	r.scans = append(r.scans, spec)
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
