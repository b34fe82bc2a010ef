package query_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// A required key column pinned by a join to another plugin table: the scan receives the
// other table's distinct values as an IN list, as Steampipe's parameterised scans would.
func TestJoinParameterPinsRequiredQual(t *testing.T) {
	eng := compatEngine(t)
	testplugin.Calls.Reset()
	_, rows := compatRows(t, eng, `select t.id, r.label from test_types t join test_required r on r.kind = t.name
		where t.id in (1, 2) and r.n = 1 order by t.id`)
	if rows != "[1 item-1-1];[2 item-2-1]" {
		t.Fatalf("rows %s", rows)
	}
	if kinds := requiredKinds(); strings.Join(kinds, ",") != "item-1,item-2" {
		t.Fatalf("test_required received kinds %v, want item-1 and item-2 only", kinds)
	}
}

// The key values may also come from a subquery or CTE that stands on its own: it runs
// first and the scan receives its distinct values.
func TestQueryParameterPinsRequiredQual(t *testing.T) {
	eng := compatEngine(t)
	tests := []struct{ name, sql, rows, kinds string }{
		{"IN subquery", `select label from test_required where kind in (select name from test_types where id <= 2) and n = 1 order by label`,
			"[item-1-1];[item-2-1]", "item-1,item-2"},
		{"join to a subquery", `select r.label from (select name as k from test_types where id = 2) x join test_required r on r.kind = x.k where r.n = 5`,
			"[item-2-5]", "item-2"},
		{"LEFT JOIN to a CTE", `with t as (select name from test_types where id in (1, 3) order by name)
			select t.name, r.label from t left join test_required r on r.kind = t.name and r.n = 2 order by 1`,
			"[item-1 item-1-2];[item-3 item-3-2]", "item-1,item-3"},
		{"CTE chain with column aliases", `with a(k) as (select name from test_types where id = 4), b as (select k from a)
			select r.label from b join test_required r on r.kind = b.k where r.n = 1`,
			"[item-4-1]", "item-4"},
		{"constant subquery", `select r.label from (select 'a' as k) x join test_required r on r.kind = x.k where r.n = 3`,
			"[a-3]", "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			_, rows := compatRows(t, eng, tc.sql)
			if rows != tc.rows {
				t.Fatalf("rows %s, want %s", rows, tc.rows)
			}
			if kinds := requiredKinds(); strings.Join(kinds, ",") != tc.kinds {
				t.Fatalf("test_required received kinds %v, want %s", kinds, tc.kinds)
			}
			if n := eng.Progress().Scans; n != 0 {
				t.Errorf("%d scans still registered after the query", n)
			}
		})
	}
}

// Without values from the other side, the parameterised scan calls nothing.
func TestParameterWithNoValuesCallsNothing(t *testing.T) {
	eng := compatEngine(t)
	for _, sql := range []string{
		`select r.label from test_types t join test_required r on r.kind = t.name where t.id = 99`,
		`select label from test_required where kind in (select name from test_types where id = 99)`,
	} {
		testplugin.Calls.Reset()
		if _, rows := compatRows(t, eng, sql); rows != "" {
			t.Fatalf("rows %s, want none\n%s", rows, sql)
		}
		if n := len(testplugin.Calls.ForTable("test_required")); n != 0 {
			t.Fatalf("test_required called %d times with no values to pin kind\n%s", n, sql)
		}
	}
}

func TestPlanWithQueryParameterCallsNothing(t *testing.T) {
	eng := compatEngine(t)
	testplugin.Calls.Reset()
	plan, err := eng.Plan(context.Background(), `select label from test_required where kind in (select name from test_types)`)
	if err != nil {
		t.Fatal(err)
	}
	var quals []string
	for _, s := range plan.Scans {
		quals = append(quals, s.Table+": "+strings.Join(s.Quals, ", "))
	}
	if got := strings.Join(quals, "; "); got != "test_required: kind = any(values of a subquery); test_types: " {
		t.Errorf("plan scans %q", got)
	}
	// Planning the subquery registered scans of its own; they go with the plan.
	if n := eng.Progress().Scans; n != 0 {
		t.Errorf("%d scans still registered after Plan", n)
	}
	if n := len(testplugin.Calls.ForTable("test_types")) + len(testplugin.Calls.ForTable("test_required")); n != 0 {
		t.Fatalf("planning made %d plugin calls", n)
	}
}

// A subquery that refers to the outer query cannot run first, so it gives no values and
// the table still lacks its qual; the error points at the table reference.
func TestCorrelatedSourceStillNeedsQual(t *testing.T) {
	eng := compatEngine(t)
	sql := "select r.label from test_types t,\n  lateral (select t.name as k) x join test_required r on r.kind = x.k"
	_, err := eng.Plan(context.Background(), sql)
	var mq *query.MissingQualError
	if !errors.As(err, &mq) || mq.Table != "test_required" || mq.Line != 2 || mq.Column != 39 {
		t.Fatalf("got %#v, want MissingQualError for test_required at 2:39", err)
	}
}

// requiredKinds lists, sorted, the kind values test_required's calls received.
func requiredKinds() []string {
	var kinds []string
	for _, c := range testplugin.Calls.ForTable("test_required") {
		for _, q := range c.Quals["kind"] {
			kinds = append(kinds, fmt.Sprint(q.Value))
		}
	}
	sort.Strings(kinds)
	return kinds
}
