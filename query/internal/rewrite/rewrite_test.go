package rewrite_test

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query/internal/plugin"
	"github.com/spoutdev/spout/query/internal/rewrite"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// catalog serves the test plugin's real schema under two connections, test (the search
// path's) and prod.
type catalog struct{ tables map[string]*proto.TableSchema }

func (c *catalog) Table(schema, table string) (string, *proto.TableSchema, error) {
	conn := "test"
	if schema != "" {
		if schema != "test" && schema != "prod" {
			return "", nil, fmt.Errorf("unknown connection %q", schema)
		}
		conn = schema
	}
	ts, ok := c.tables[table]
	if !ok {
		return "", nil, fmt.Errorf("table %q does not exist", table)
	}
	return conn, ts, nil
}

var (
	catOnce sync.Once
	cat     *catalog
	catErr  error
)

func testCatalog(tb testing.TB) *catalog {
	tb.Helper()
	catOnce.Do(func() {
		h, err := plugin.Start("test", testplugin.Plugin, slog.New(slog.DiscardHandler))
		if err != nil {
			catErr = err
			return
		}
		if catErr = h.SetConnections([]plugin.Connection{{Name: "test"}}, 1); catErr != nil {
			return
		}
		tables, err := h.Schema("test")
		cat, catErr = &catalog{tables: tables}, err
	})
	if catErr != nil {
		tb.Fatalf("reading the test plugin's schema: %v", catErr)
	}
	return cat
}

func ids() func() string {
	n := 0
	return func() string { n++; return "s" + strconv.Itoa(n) }
}

// render prints what the rewrite made of a query: the DuckDB text and each scan's
// pushdown, or the located error.
func render(sql string, p *rewrite.Plan, err error) string {
	var b strings.Builder
	var re *rewrite.Error
	var mq *rewrite.MissingQualError
	switch {
	case errors.As(err, &re):
		fmt.Fprintf(&b, "error at %s: %s\n", at(sql, re.Offset), re.Msg)
		return b.String()
	case errors.As(err, &mq):
		fmt.Fprintf(&b, "missing qual at %s: %s\n", at(sql, mq.Offset), mq.Error())
		return b.String()
	case err != nil:
		return "unlocated error: " + err.Error() + "\n"
	}
	fmt.Fprintf(&b, "%s\n", p.SQL)
	if p.Ordered {
		b.WriteString("ordered\n")
	}
	for _, s := range p.Scans {
		fmt.Fprintf(&b, "scan %s %s.%s at %s", s.ID, s.Connection, s.Table, at(sql, s.Offset))
		if s.Limit >= 0 {
			fmt.Fprintf(&b, " limit %d", s.Limit)
		}
		b.WriteString("\n")
		for _, col := range rewrite.SortedQualColumns(s.Quals) {
			for _, q := range s.Quals[col].Quals {
				fmt.Fprintf(&b, "  qual %s\n", rewrite.FormatQual(q))
			}
		}
		for _, prm := range s.Params {
			if prm.From != nil {
				fmt.Fprintf(&b, "  param %s = values of %s.%s\n", prm.Column, prm.From.ID, prm.FromColumn)
			} else {
				fmt.Fprintf(&b, "  param %s = values of (%s)\n", prm.Column, prm.SQL)
			}
		}
	}
	return b.String()
}

// at prints a byte offset as "LINE:COL (after "context")" so a golden file shows where an
// error or scan points without counting bytes.
func at(sql string, off int) string {
	if off < 0 || off > len(sql) {
		return "unknown"
	}
	line := strings.Count(sql[:off], "\n") + 1
	col := off - strings.LastIndex(sql[:off], "\n")
	rest := sql[off:]
	if i := strings.IndexAny(rest, " \n"); i >= 0 {
		rest = rest[:i]
	}
	return fmt.Sprintf("%d:%d %q", line, col, rest)
}

// Each testdata/golden/NAME.sql is rewritten and compared with NAME.golden. Run with
// -update to accept new output; review the diff like code.
func TestGolden(t *testing.T) {
	c := testCatalog(t)
	files, err := filepath.Glob("testdata/golden/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".sql")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sql := strings.TrimSuffix(string(in), "\n")
			p, rerr := rewrite.Rewrite(sql, c, ids())
			got := render(sql, p, rerr)
			goldenFile := strings.TrimSuffix(file, ".sql") + ".golden"
			if *update {
				if err := os.WriteFile(goldenFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rewrite of %s changed\n--- got\n%s--- want\n%s", file, got, want)
			}
			if rerr == nil {
				// What DuckDB receives must still be one statement the grammar accepts.
				if _, perr := pg.Parse(p.SQL); perr != nil {
					t.Errorf("rewritten text does not parse: %v\n%s", perr, p.SQL)
				}
			}
		})
	}
}

// The rewrite of any text either fails with a located error or yields one statement that
// parses again, calls the scan function for every scan it reports, and never panics.
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.sql")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	c := testCatalog(f)
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := rewrite.Rewrite(sql, c, ids())
		if err != nil {
			var re *rewrite.Error
			var mq *rewrite.MissingQualError
			switch {
			case errors.As(err, &re):
				if strings.HasPrefix(re.Msg, "Spout cannot translate") {
					t.Fatalf("the rewrite broke a query: %v", err)
				}
				if re.Offset < -1 || re.Offset > len(sql) {
					t.Fatalf("error offset %d outside the text (%d bytes): %v", re.Offset, len(sql), err)
				}
			case errors.As(err, &mq):
				if mq.Offset < 0 || mq.Offset > len(sql) {
					t.Fatalf("missing-qual offset %d outside the text: %v", mq.Offset, err)
				}
			default:
				if !strings.HasPrefix(err.Error(), "building scan of") && !strings.HasPrefix(err.Error(), "printing rewritten query") {
					t.Fatalf("unlocated error %T: %v", err, err)
				}
			}
			return
		}
		tree, perr := pg.Parse(p.SQL)
		if perr != nil {
			t.Fatalf("rewritten text does not parse: %v\n%s", perr, p.SQL)
		}
		if len(tree.Stmts) != 1 {
			t.Fatalf("rewritten text has %d statements:\n%s", len(tree.Stmts), p.SQL)
		}
		for _, s := range p.Scans {
			if !strings.Contains(p.SQL, rewrite.ScanFunc+"('"+s.ID+"')") {
				t.Fatalf("scan %s is not called in\n%s", s.ID, p.SQL)
			}
		}
	})
}
