package query_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

var accounts = map[string]string{"a1": "111111111111", "a2": "222222222222", "a3": "333333333333"}

// aggregatorEngine has connections a1..a3 (3 rows each, their own account_id) and the
// aggregator "all" over a*. fail names members configured to fail.
func aggregatorEngine(t *testing.T, fail ...string) *query.Engine {
	t.Helper()
	opts := []query.Option{}
	for _, name := range []string{"a1", "a2", "a3"} {
		cfg := fmt.Sprintf("rows = 3\naccount_id = %q", accounts[name])
		if slices.Contains(fail, name) {
			cfg += "\nfail = true"
		}
		opts = append(opts, query.WithConnection(name, "test", cfg))
	}
	opts = append(opts, query.WithAggregator("all", "test", "a*"))
	return newEngine(t, opts...)
}

// accountRows reads (connection, account_id, id) triples, sorted.
func accountRows(t *testing.T, eng *query.Engine, sql string, opts ...query.QueryOption) ([]string, *query.Rows) {
	t.Helper()
	rows, res := collect(t, eng, sql, opts...)
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%v %v %v", r[0], r[1], r[2]))
	}
	slices.Sort(out)
	return out, res
}

func wantAccountRows(conns []string, ids ...int64) []string {
	var out []string
	for _, c := range conns {
		for _, id := range ids {
			out = append(out, fmt.Sprintf("%s %s %d", c, accounts[c], id))
		}
	}
	slices.Sort(out)
	return out
}

func TestAggregator(t *testing.T) {
	eng := aggregatorEngine(t)
	all := []string{"a1", "a2", "a3"}

	t.Run("unqualified name resolves to the aggregator", func(t *testing.T) {
		testplugin.Calls.Reset()
		got, res := accountRows(t, eng, "select sp_connection_name, account_id, id from test_types")
		if want := wantAccountRows(all, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v\nwant   %v", got, want)
		}
		var conns []string
		for _, c := range testplugin.Calls.ForTable("test_types") {
			conns = append(conns, c.Connection)
		}
		slices.Sort(conns)
		if !slices.Equal(conns, all) {
			t.Errorf("plugin calls went to %v, want one per member %v", conns, all)
		}
		stats := res.Stats()
		if len(stats) != 1 || stats[0].Connection != "all" {
			t.Fatalf("stats = %+v, want one scan of connection all", stats)
		}
		for _, c := range all {
			if stats[0].Rows[c] != 3 {
				t.Errorf("stats rows of %s = %d, want 3", c, stats[0].Rows[c])
			}
		}
		if info, err := eng.Table("test_types"); err != nil || info.Connection != "all" {
			t.Errorf("Table(test_types) = %+v, %v; want connection all", info, err)
		}
	})

	t.Run("_ctx names the member", func(t *testing.T) {
		got, _ := accountRows(t, eng, "select _ctx ->> 'connection_name', account_id, id from test_types where id = 2")
		if want := wantAccountRows(all, 2); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
	})

	t.Run("quals reach every member", func(t *testing.T) {
		testplugin.Calls.Reset()
		got, _ := accountRows(t, eng, "select sp_connection_name, account_id, id from test_types where id = 2")
		if want := wantAccountRows(all, 2); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		if calls := callSets("test_types"); !slices.Equal(calls, []string{"get [id = 2]", "get [id = 2]", "get [id = 2]"}) {
			t.Errorf("calls = %q, want one get of id 2 per member", calls)
		}
	})

	t.Run("qualified aggregator", func(t *testing.T) {
		got, _ := accountRows(t, eng, `select sp_connection_name, account_id, id from "all".test_types`)
		if want := wantAccountRows(all, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
	})

	t.Run("qualified member", func(t *testing.T) {
		testplugin.Calls.Reset()
		got, _ := accountRows(t, eng, "select sp_connection_name, account_id, id from a2.test_types")
		if want := wantAccountRows([]string{"a2"}, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		for _, c := range testplugin.Calls.All() {
			if c.Connection != "a2" {
				t.Errorf("a2.test_types called connection %s", c.Connection)
			}
		}
		if len(testplugin.Calls.All()) != 1 {
			t.Errorf("calls = %+v, want exactly one", testplugin.Calls.All())
		}
	})

	t.Run("members joined", func(t *testing.T) {
		got, _ := accountRows(t, eng, "select x.sp_connection_name, y.account_id, x.id from a1.test_types x join a3.test_types y on x.id = y.id where x.id < 3")
		want := []string{"a1 333333333333 1", "a1 333333333333 2"}
		if !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
	})

	t.Run("limit", func(t *testing.T) {
		testplugin.Calls.Reset()
		rows, _ := collect(t, eng, "select id from test_types limit 2")
		if len(rows) != 2 {
			t.Errorf("%d rows, want 2", len(rows))
		}
		for _, c := range testplugin.Calls.ForTable("test_types") {
			if c.Limit != 2 {
				t.Errorf("call of %s has limit %d, want 2", c.Connection, c.Limit)
			}
		}
	})
}

func TestAggregatorFailingMember(t *testing.T) {
	eng := aggregatorEngine(t, "a3")

	t.Run("fails the query by default", func(t *testing.T) {
		_, err := queryErr(t, eng, "select sp_connection_name, account_id, id from test_types")
		var pe *query.PluginError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %T %v, want *query.PluginError", err, err)
		}
		if pe.Connection != "a3" || pe.Table != "test_types" {
			t.Errorf("PluginError names %s.%s, want a3.test_types", pe.Connection, pe.Table)
		}
		if !strings.Contains(err.Error(), "configured to fail") {
			t.Errorf("error %q does not carry the plugin's message", err)
		}
	})

	t.Run("AllowPartial keeps the others", func(t *testing.T) {
		got, res := accountRows(t, eng, "select sp_connection_name, account_id, id from test_types", query.AllowPartial())
		if want := wantAccountRows([]string{"a1", "a2"}, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v\nwant   %v", got, want)
		}
		stats := res.Stats()
		if len(stats) != 1 {
			t.Fatalf("stats = %+v, want one scan", stats)
		}
		st := stats[0]
		if len(st.Errors) != 1 || st.Errors["a3"] == nil {
			t.Fatalf("stats errors = %v, want exactly a3", st.Errors)
		}
		var pe *query.PluginError
		if !errors.As(st.Errors["a3"], &pe) || pe.Connection != "a3" || !strings.Contains(pe.Error(), "configured to fail") {
			t.Errorf("a3's error = %v, want a *query.PluginError of a3", st.Errors["a3"])
		}
		if st.Rows["a1"] != 3 || st.Rows["a2"] != 3 || st.Rows["a3"] != 0 {
			t.Errorf("stats rows = %v, want a1:3 a2:3 and none from a3", st.Rows)
		}
	})

	t.Run("AllowPartial with an ordered result", func(t *testing.T) {
		got, res := accountRows(t, eng, "select sp_connection_name, account_id, id from test_types order by 1, 3", query.AllowPartial())
		if want := wantAccountRows([]string{"a1", "a2"}, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		if st := res.Stats(); len(st) != 1 || st[0].Errors["a3"] == nil {
			t.Errorf("stats = %+v, want a3 failed", st)
		}
	})

	t.Run("a healthy member alone is fine", func(t *testing.T) {
		got, _ := accountRows(t, eng, "select sp_connection_name, account_id, id from a1.test_types")
		if want := wantAccountRows([]string{"a1"}, 1, 2, 3); !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
	})
}
