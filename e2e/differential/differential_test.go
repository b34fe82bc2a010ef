package differential

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/e2e/corpus"
	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/query"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// differentialBar is the share of compared queries whose answers must be equal.
const differentialBar = 99.0

// TestDifferential runs every documented query that reads only fixture tables in Spout
// (over the fixture plugin) and in PostgreSQL (over the same rows), and compares answers.
//
// SPOUT_DIFF_REPORT=<file> writes every query's outcome there; SPOUT_DIFF_ONLY=<id,...>
// runs just those queries; SPOUT_DIFF_VERBOSE=1 logs both answers of each query;
// SPOUT_DIFF_DUMP=<table> logs the first fixture rows of a table.
func TestDifferential(t *testing.T) {
	started := time.Now()
	ctx := context.Background()
	schemas, err := realSchemas()
	if err != nil {
		t.Fatal(err)
	}
	all, err := corpus.Queries()
	if err != nil {
		t.Fatal(err)
	}
	var selected []corpus.Query
	covered := map[string]int{}
	f := newFacts(schemas)
	for _, q := range all {
		tables, err := queryTables(q.SQL)
		if err != nil || len(tables) == 0 {
			continue
		}
		ok := true
		for _, tb := range tables {
			if _, in := schemas[tb]; !in {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f.mine(q.SQL, tables)
		selected = append(selected, q)
		for _, tb := range tables {
			covered[tb]++
		}
	}
	if only := os.Getenv("SPOUT_DIFF_ONLY"); only != "" {
		want := map[string]bool{}
		for _, id := range strings.Split(only, ",") {
			want[strings.TrimSpace(id)] = true
		}
		var keep []corpus.Query
		for _, q := range selected {
			if want[q.ID] {
				keep = append(keep, q)
			}
		}
		selected = keep
	}
	fx := (&generator{f: f, anchor: fixtureAnchor}).generate(schemas)
	if name := os.Getenv("SPOUT_DIFF_DUMP"); name != "" {
		if tb := fx.tables[name]; tb != nil {
			for i, row := range tb.rows[:3] {
				for _, c := range tb.cols {
					t.Logf("%s[%d].%s = %v", name, i, c.name, row[c.name])
				}
			}
		}
	}

	conn, err := connectPostgres(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := loadPostgres(ctx, conn, fx); err != nil {
		t.Fatal(err)
	}
	eng, err := query.New(ctx,
		query.WithPlugin("aws", fixturePlugin(fx)),
		query.WithConnection("aws", "aws", ""),
		query.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	setup := time.Since(started)

	var outcomes []outcome
	verbose := os.Getenv("SPOUT_DIFF_VERBOSE") != ""
	for _, q := range selected {
		o := compare(ctx, conn, eng, q.ID, q.SQL)
		outcomes = append(outcomes, o)
		if verbose {
			logOutcome(t, ctx, eng, o)
		}
	}

	equal, compared := 0, 0
	var rejected []outcome
	classes := map[string][]outcome{}
	for _, o := range outcomes {
		switch {
		case o.pgErr != nil:
			rejected = append(rejected, o)
		case o.equal:
			equal++
			compared++
		default:
			compared++
			class := mismatchClass(o)
			classes[class] = append(classes[class], o)
		}
	}
	fmt.Printf("differential: %d of %d equal\n", equal, compared)
	// How much the fixture exercises the queries: answers with rows, and columns that
	// are NULL on every row of a non-empty answer.
	withRows, nullCols, allCols := 0, 0, 0
	var empty []string
	for _, o := range outcomes {
		if o.pgErr != nil || o.pg == nil {
			continue
		}
		if len(o.pg.rows) == 0 {
			empty = append(empty, o.id)
			continue
		}
		withRows++
		for c := range o.pg.cols {
			allCols++
			null := true
			for _, r := range o.pg.rows {
				if r[c] != nil {
					null = false
					break
				}
			}
			if null {
				nullCols++
			}
		}
	}
	t.Logf("fixture coverage: %d of %d compared answers have rows; %d of %d result columns of those are NULL on every row", withRows, compared, nullCols, allCols)
	if verbose {
		t.Logf("empty answers: %s", strings.Join(empty, " "))
	}
	t.Logf("%d fixture tables (%d with queries), %d queries selected, %d rejected by Postgres, setup %s, total %s",
		len(schemas), len(covered), len(selected), len(rejected), setup.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	for _, o := range rejected {
		t.Logf("rejected by postgres: %s: %s", o.id, firstLineOf(o.pgErr.Error()))
	}
	names := sortedKeys(classes)
	sort.SliceStable(names, func(i, j int) bool { return len(classes[names[i]]) > len(classes[names[j]]) })
	for _, c := range names {
		var ids []string
		for _, o := range classes[c] {
			ids = append(ids, o.id)
		}
		t.Logf("mismatch class %q: %d: %s", c, len(classes[c]), strings.Join(ids, " "))
	}
	// A classified query that now returns Postgres's answer: its class may be fixed.
	byID := map[string]outcome{}
	for _, o := range outcomes {
		byID[o.id] = o
	}
	for _, c := range mismatchClasses {
		for _, id := range c.ids {
			if o, ok := byID[id]; ok && o.equal {
				t.Logf("%s is listed under %q but now returns Postgres's answer: remove it from the class", id, c.name)
			}
		}
	}
	types := typeDifferences(outcomes)
	for _, k := range sortedKeys(types) {
		t.Logf("equal answers with different column types, postgres %s: %d (e.g. %s)", k, len(types[k]), types[k][0])
	}
	if path := os.Getenv("SPOUT_DIFF_REPORT"); path != "" {
		writeReport(t, path, outcomes)
	}
	if compared == 0 {
		t.Fatal("no query compared")
	}
	if pct := 100 * float64(equal) / float64(compared); pct < differentialBar {
		t.Errorf("%.1f%% of the compared queries returned Postgres's answer, below the %.1f%% bar", pct, differentialBar)
	}
}

// writeReport writes every outcome, mismatches first, for reading by a person.
func writeReport(t *testing.T, path string, outcomes []outcome) {
	var b strings.Builder
	sorted := slices.Clone(outcomes)
	rank := func(o outcome) int {
		switch {
		case o.pgErr != nil:
			return 1
		case o.equal:
			return 2
		}
		return 0
	}
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	for _, o := range sorted {
		status := "EQUAL"
		switch {
		case o.pgErr != nil:
			status = "REJECTED BY POSTGRES: " + firstLineOf(o.pgErr.Error())
		case !o.equal:
			status = "MISMATCH [" + mismatchClass(o) + "] " + o.kind + ": " + o.detail
		}
		fmt.Fprintf(&b, "=== %s (%s)\n%s\n--- %s\n", o.id, o.note, o.sql, status)
		if !o.equal && o.pgErr == nil && o.pg != nil {
			fmt.Fprintf(&b, "    columns: %v\n    postgres types: %v\n", o.pg.cols, o.pg.types)
			if o.sp != nil {
				fmt.Fprintf(&b, "    spout types:    %v\n", o.sp.types)
			}
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("writing report: %v", err)
	}
}

// logOutcome shows one query's both answers and the engine's rewritten SQL.
func logOutcome(t *testing.T, ctx context.Context, eng *query.Engine, o outcome) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s equal=%v %s %s\n%s\n", o.id, o.equal, o.kind, o.detail, o.sql)
	if p, err := eng.Plan(ctx, o.sql); err == nil {
		fmt.Fprintf(&b, "rewritten: %s\n", p.SQL)
	}
	if o.pgErr != nil {
		fmt.Fprintf(&b, "postgres error: %v\n", o.pgErr)
	}
	if o.spErr != nil {
		fmt.Fprintf(&b, "spout error: %v\n", o.spErr)
	}
	for _, side := range []struct {
		name string
		r    *result
	}{{"postgres", o.pg}, {"spout", o.sp}} {
		if side.r == nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %v %v\n", side.name, side.r.cols, side.r.types)
		for _, row := range side.r.rows {
			fmt.Fprintf(&b, "  %s\n", clip(rowKey(row)))
		}
	}
	t.Log(b.String())
}

// pgTypeNames maps Postgres's catalog type names onto the names Spout's Column.Type uses.
var pgTypeNames = map[string]string{"int8": "bigint", "int4": "bigint", "int2": "bigint", "float8": "double precision",
	"float4": "double precision", "bool": "boolean", "varchar": "text", "name": "text", "bpchar": "text",
	"_text": "text[]", "_int8": "bigint[]", "_int4": "bigint[]", "_varchar": "text[]", "_jsonb": "jsonb[]", "inet": "text", "cidr": "text"}

// typeDifferences lists, for equal answers, the columns whose types differ.
func typeDifferences(outcomes []outcome) map[string][]string {
	out := map[string][]string{}
	for _, o := range outcomes {
		if !o.equal || o.pg == nil || o.sp == nil {
			continue
		}
		for i := range o.pg.types {
			p := o.pg.types[i]
			if n, ok := pgTypeNames[p]; ok {
				p = n
			}
			if i < len(o.sp.types) && p != o.sp.types[i] {
				k := p + " vs " + o.sp.types[i]
				out[k] = append(out[k], o.id+"."+o.pg.cols[i])
			}
		}
	}
	return out
}
