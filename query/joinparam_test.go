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
	var kinds []string
	for _, c := range testplugin.Calls.ForTable("test_required") {
		for _, q := range c.Quals["kind"] {
			kinds = append(kinds, fmt.Sprint(q.Value))
		}
	}
	sort.Strings(kinds)
	if strings.Join(kinds, ",") != "item-1,item-2" {
		t.Fatalf("test_required received kinds %v, want item-1 and item-2 only", kinds)
	}
}

func TestJoinParameterWithNoOuterRowsCallsNothing(t *testing.T) {
	eng := compatEngine(t)
	testplugin.Calls.Reset()
	_, rows := compatRows(t, eng, `select r.label from test_types t join test_required r on r.kind = t.name where t.id = 99`)
	if rows != "" {
		t.Fatalf("rows %s, want none", rows)
	}
	if n := len(testplugin.Calls.ForTable("test_required")); n != 0 {
		t.Fatalf("test_required called %d times with no outer values", n)
	}
}

func TestJoinOnNonPluginColumnStillNeedsQual(t *testing.T) {
	eng := compatEngine(t)
	_, err := eng.Plan(context.Background(), `select r.label from (select 'a' as k) x join test_required r on r.kind = x.k`)
	var mq *query.MissingQualError
	if !errors.As(err, &mq) || mq.Table != "test_required" {
		t.Fatalf("got %v, want MissingQualError for test_required", err)
	}
}
