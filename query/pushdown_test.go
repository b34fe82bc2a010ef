package query_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// The plugin only sees quals on its key columns (the SDK drops the rest), so each case states
// both what test_types received (calls) and, where the plugin cannot tell, what the engine
// pushed (Rows.Stats). The ids are always the full WHERE applied to the plugin's data: the
// test_types list ignores every qual, so a result that is right only because of a qual would
// show here as extra rows.
func TestPushdownQuals(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		where string
		// calls is one "fetch [quals]" per List/Get call (see callSets).
		calls []string
		// engineQuals, when set, is what Rows.Stats reports for the scan.
		engineQuals []string
		keep        func(r typesRow) bool
		bug         string // skip reason while an engine bug is open
	}{
		{
			name: "equals on the get key", where: "id = 3",
			calls: []string{"get [id = 3]"},
			keep:  func(r typesRow) bool { return r.ID == 3 },
		},
		{
			name: "equals out of range", where: "id = 999",
			calls: []string{"get [id = 999]"},
			keep:  func(r typesRow) bool { return false },
		},
		{
			name: "not equals", where: "id <> 3",
			calls: []string{"list [id <> 3]"},
			keep:  func(r typesRow) bool { return r.ID != 3 },
		},
		{
			name: "bang equals", where: "id != 3",
			calls: []string{"list [id <> 3]"},
			keep:  func(r typesRow) bool { return r.ID != 3 },
		},
		{
			name: "less", where: "id < 3",
			calls: []string{"list [id < 3]"},
			keep:  func(r typesRow) bool { return r.ID < 3 },
		},
		{
			name: "less or equal", where: "id <= 3",
			calls: []string{"list [id <= 3]"},
			keep:  func(r typesRow) bool { return r.ID <= 3 },
		},
		{
			name: "greater", where: "id > 4",
			calls: []string{"list [id > 4]"},
			keep:  func(r typesRow) bool { return r.ID > 4 },
		},
		{
			name: "greater or equal", where: "id >= 4",
			calls: []string{"list [id >= 4]"},
			keep:  func(r typesRow) bool { return r.ID >= 4 },
		},
		{
			name: "range", where: "id > 2 and id <= 5",
			calls: []string{"list [id <= 5 id > 2]"},
			keep:  func(r typesRow) bool { return r.ID > 2 && r.ID <= 5 },
		},
		{
			name: "constant on the left", where: "5 < id",
			calls: []string{"list [id > 5]"},
			keep:  func(r typesRow) bool { return r.ID > 5 },
		},
		{
			name: "constant on the left, or equal", where: "2 >= id",
			calls: []string{"list [id <= 2]"},
			keep:  func(r typesRow) bool { return r.ID <= 2 },
		},
		{
			name: "constant on the left, equals", where: "4 = id",
			calls: []string{"get [id = 4]"},
			keep:  func(r typesRow) bool { return r.ID == 4 },
		},
		{
			// The SDK makes one Get per IN value.
			name: "in list", where: "id in (2, 4, 999)",
			calls: []string{"get [id = 2]", "get [id = 4]", "get [id = 999]"},
			keep:  func(r typesRow) bool { return r.ID == 2 || r.ID == 4 },
		},
		{
			// The SDK makes one List per IN value; test_types' list ignores name, so each call
			// returns every row and the engine must not hand the same row on twice.
			name: "in list on a list key column", where: "name in ('item-1', 'item-5')",
			calls: []string{"list [name = item-1]", "list [name = item-5]"},
			keep:  func(r typesRow) bool { return r.Name == "item-1" || r.Name == "item-5" },
			bug:   bugInListDuplicates,
		},
		{
			name: "not in is not pushed", where: "id not in (2, 4)",
			calls:       []string{"list []"},
			engineQuals: []string{},
			keep:        func(r typesRow) bool { return r.ID != 2 && r.ID != 4 },
		},
		{
			name: "text equals", where: "name = 'item-2'",
			calls: []string{"list [name = item-2]"},
			keep:  func(r typesRow) bool { return r.Name == "item-2" },
		},
		{
			// NULL names are not <> anything.
			name: "text not equals", where: "name <> 'item-2'",
			calls: []string{"list [name <> item-2]"},
			keep:  func(r typesRow) bool { return r.Name != nil && r.Name != "item-2" },
		},
		{
			name: "boolean column", where: "active",
			calls: []string{"list [active = true]"},
			keep:  func(r typesRow) bool { return r.Active },
		},
		{
			name: "negated boolean column", where: "not active",
			calls: []string{"list [active = false]"},
			keep:  func(r typesRow) bool { return !r.Active },
		},
		{
			name: "boolean equals", where: "active = false",
			calls: []string{"list [active = false]"},
			keep:  func(r typesRow) bool { return !r.Active },
		},
		{
			name: "boolean column through an alias", where: "t.active and t.id > 2",
			calls: []string{"list [active = true id > 2]"},
			keep:  func(r typesRow) bool { return r.Active && r.ID > 2 },
		},
		{
			name: "timestamp date literal", where: "created_at > '2026-01-04'",
			calls: []string{"list [created_at > 2026-01-04T00:00:00Z]"},
			keep:  func(r typesRow) bool { return r.CreatedAt.After(day(4)) },
		},
		{
			name: "timestamp with zone", where: "created_at <= '2026-01-04T00:00:00Z'",
			calls: []string{"list [created_at <= 2026-01-04T00:00:00Z]"},
			keep:  func(r typesRow) bool { return !r.CreatedAt.After(day(4)) },
		},
		{
			name: "typed timestamp literal", where: "created_at >= '2026-01-03'::timestamptz",
			calls: []string{"list [created_at >= 2026-01-03T00:00:00Z]"},
			keep:  func(r typesRow) bool { return !r.CreatedAt.Before(day(3)) },
		},
		{
			// name has no `is null` key-column operator, so only the engine side shows it.
			name: "is null", where: "name is null",
			calls:       []string{"list []"},
			engineQuals: []string{"name is null"},
			keep:        func(r typesRow) bool { return r.Name == nil },
		},
		{
			name: "is not null", where: "tags is not null",
			calls:       []string{"list []"},
			engineQuals: []string{"tags is not null"},
			keep:        func(r typesRow) bool { return r.Tags != nil },
		},
		{
			name: "or is not pushed", where: "id = 3 or id = 4",
			calls:       []string{"list []"},
			engineQuals: []string{},
			keep:        func(r typesRow) bool { return r.ID == 3 || r.ID == 4 },
		},
		{
			name: "or beside a pushed conjunct", where: "id > 1 and (name = 'item-2' or active)",
			calls:       []string{"list [id > 1]"},
			engineQuals: []string{"id > 1"},
			keep:        func(r typesRow) bool { return r.ID > 1 && (r.Name == "item-2" || r.Active) },
		},
		{
			name: "expression on the column is not pushed", where: "id + 0 = 3",
			calls:       []string{"list []"},
			engineQuals: []string{},
			keep:        func(r typesRow) bool { return r.ID == 3 },
		},
		{
			name: "non-constant is not pushed", where: "created_at < now()",
			calls:       []string{"list []"},
			engineQuals: []string{},
			keep:        func(r typesRow) bool { return r.CreatedAt.Before(time.Now()) },
		},
		{
			// score is no key column: the engine pushes it, the SDK drops it.
			name: "non-key column", where: "score > 3 and id < 5",
			calls:       []string{"list [id < 5]"},
			engineQuals: []string{"id < 5", "score > 3"},
			keep:        func(r typesRow) bool { return r.Score > 3 && r.ID < 5 },
		},
		{
			name: "qualified by alias", where: "t.id = 3",
			calls: []string{"get [id = 3]"},
			keep:  func(r typesRow) bool { return r.ID == 3 },
		},
	}
	eng := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			testplugin.Calls.Reset()
			sql := "select t.id from test_types t where " + tt.where
			rows, res := collect(t, eng, sql)
			got := column[int64](t, rows, 0)
			want := ids(tt.keep)
			if !slices.Equal(got, want) {
				t.Errorf("%s\nids = %v, want %v", sql, got, want)
			}
			if calls := callSets("test_types"); !slices.Equal(calls, tt.calls) {
				t.Errorf("%s\nplugin calls = %q, want %q", sql, calls, tt.calls)
			}
			if tt.engineQuals != nil {
				stats := res.Stats()
				if len(stats) != 1 {
					t.Fatalf("stats = %+v, want one scan", stats)
				}
				if gotQ := slices.Sorted(slices.Values(stats[0].Quals)); !slices.Equal(gotQ, tt.engineQuals) {
					t.Errorf("%s\nengine quals = %q, want %q", sql, stats[0].Quals, tt.engineQuals)
				}
			}
		})
	}
}

// TestPushdownQualsSchemaQualified checks quals reach a scan named connection.table, both
// through the table name and through the full three-part column reference.
func TestPushdownQualsSchemaQualified(t *testing.T) {
	eng := engine(t)
	for _, sql := range []string{
		"select id from test.test_types where id = 3",
		"select test_types.id from test.test_types where test_types.id = 3",
	} {
		testplugin.Calls.Reset()
		rows, _ := collect(t, eng, sql)
		if got := column[int64](t, rows, 0); !slices.Equal(got, []int64{3}) {
			t.Errorf("%s: ids = %v, want [3]", sql, got)
		}
		if calls := callSets("test_types"); !slices.Equal(calls, []string{"get [id = 3]"}) {
			t.Errorf("%s: calls = %q, want one get of id 3", sql, calls)
		}
	}
}

// TestThreePartColumnReference: Postgres accepts connection.table.column.
func TestThreePartColumnReference(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	sql := "select test.test_types.id from test.test_types where test.test_types.id = 3"
	rows, _ := collect(t, eng, sql)
	if got := column[int64](t, rows, 0); !slices.Equal(got, []int64{3}) {
		t.Errorf("%s: ids = %v, want [3]", sql, got)
	}
	if calls := callSets("test_types"); !slices.Equal(calls, []string{"get [id = 3]"}) {
		t.Errorf("%s: calls = %q, want one get of id 3", sql, calls)
	}
}

func TestPushdownOptionalRegion(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	rows, _ := collect(t, eng, "select name, region, size from test_optional where region = 'us-east-1' and size > 50")
	assertOptionalRegion(t, rows)
	// The list honours region, so it is the plugin that cut the other region's rows.
	calls := testplugin.Calls.ForTable("test_optional")
	if got := callSets("test_optional"); !slices.Equal(got, []string{"list [region = us-east-1 size > 50]"}) {
		t.Errorf("calls = %q, want one list with region and size quals", got)
	}
	if len(calls) == 1 && calls[0].Connection != "test" {
		t.Errorf("call went to connection %q, want test", calls[0].Connection)
	}

	// An IN list on region: one List per region, each returning only its own rows.
	testplugin.Calls.Reset()
	rows, _ = collect(t, eng, "select name from test_optional where region in ('us-east-1', 'eu-west-1')")
	if len(rows) != 20 {
		t.Errorf("region in (both): %d rows, want 20", len(rows))
	}
	if got := callSets("test_optional"); !slices.Equal(got, []string{"list [region = eu-west-1]", "list [region = us-east-1]"}) {
		t.Errorf("calls = %q, want one list per region", got)
	}
}

func assertOptionalRegion(t *testing.T, rows [][]any) {
	t.Helper()
	var want []string
	for i := 1; i <= 20; i++ {
		if i%2 == 1 && i*10 > 50 {
			want = append(want, fmt.Sprintf("opt-%d", i))
		}
	}
	slices.Sort(want)
	if got := column[string](t, rows, 0); !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
	for _, r := range rows {
		if r[1] != "us-east-1" {
			t.Errorf("row %v: region is not us-east-1", r)
		}
	}
}

func TestPushdownColumns(t *testing.T) {
	all := []string{"account_id", "active", "cidr", "created_at", "id", "inet", "ip", "items", "name", "path", "score", "tags"}
	tests := []struct {
		name string
		sql  string
		// want is the columns per table; nil means "exactly one column, any".
		want map[string][]string
	}{
		{"select list", "select id, name from test_types", map[string][]string{"test_types": {"id", "name"}}},
		{"where-only column", "select name from test_types where score > 3", map[string][]string{"test_types": {"name", "score"}}},
		{"order-by column", "select name from test_types order by created_at", map[string][]string{"test_types": {"created_at", "name"}}},
		{"json operator", "select tags ->> 'environment' from test_types", map[string][]string{"test_types": {"tags"}}},
		{"star", "select * from test_types", map[string][]string{"test_types": all}},
		{"count star", "select count(*) from test_types", map[string][]string{"test_types": nil}},
		{"count star with where", "select count(*) from test_types where active", map[string][]string{"test_types": {"active"}}},
		{"aggregate", "select active, max(score) from test_types group by active", map[string][]string{"test_types": {"active", "score"}}},
		{"subquery", "select x from (select id as x, score from test_types) s", map[string][]string{"test_types": {"id"}}},
		{"cte", "with t as (select * from test_types) select id from t where active", map[string][]string{"test_types": {"active", "id"}}},
		{
			"join", "select t.name, o.size from test_types t join test_optional o on o.size = t.id * 10",
			map[string][]string{"test_types": {"id", "name"}, "test_optional": {"size"}},
		},
		{
			"join with where", "select o.name from test_types t join test_optional o on o.size = t.id * 10 where t.score > 2",
			map[string][]string{"test_types": {"id", "score"}, "test_optional": {"name", "size"}},
		},
	}
	eng := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			collect(t, eng, tt.sql)
			for table, want := range tt.want {
				calls := testplugin.Calls.ForTable(table)
				if len(calls) != 1 {
					t.Fatalf("%s: %d calls of %s, want 1: %+v", tt.sql, len(calls), table, calls)
				}
				got := pluginColumns(calls[0])
				if want == nil {
					if len(got) != 1 {
						t.Errorf("%s: %s columns = %v, want exactly one", tt.sql, table, got)
					}
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s columns = %v, want %v", tt.sql, table, got, want)
				}
			}
		})
	}
}

func TestPushdownJoins(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		// calls per table, as callSets prints them.
		calls map[string][]string
		// engineQuals per table (single-scan tables only), when the plugin cannot tell.
		engineQuals map[string][]string
		want        [][2]any
		bug         string
	}{
		{
			name:  "inner join on constant",
			sql:   "select t.id, o.name from test_types t join test_optional o on o.region = 'eu-west-1' and o.size = t.id * 10",
			calls: map[string][]string{"test_types": {"list []"}, "test_optional": {"list [region = eu-west-1]"}},
			want:  joinRows(func(id int64) (any, bool) { return fmt.Sprintf("opt-%d", id), id%2 == 0 && id <= 20 }),
		},
		{
			name:  "inner join, where quals on both sides",
			sql:   "select t.id, o.name from test_types t join test_optional o on o.size = t.id * 10 where t.id < 4 and o.region = 'us-east-1'",
			calls: map[string][]string{"test_types": {"list [id < 4]"}, "test_optional": {"list [region = us-east-1]"}},
			want:  joinRows(func(id int64) (any, bool) { return fmt.Sprintf("opt-%d", id), id < 4 && id%2 == 1 }),
		},
		{
			name:  "comma join",
			sql:   "select t.id, o.name from test_types t, test_optional o where o.size = t.id * 10 and o.region = 'us-east-1' and t.id <= 3",
			calls: map[string][]string{"test_types": {"list [id <= 3]"}, "test_optional": {"list [region = us-east-1]"}},
			want:  joinRows(func(id int64) (any, bool) { return fmt.Sprintf("opt-%d", id), id <= 3 && id%2 == 1 }),
		},
		{
			// A WHERE qual on the nullable side must not reach its scan; the left side's may.
			name:        "left join, where on the nullable side",
			sql:         "select t.id, o.name from test_types t left join test_optional o on o.size = t.id * 20 where o.region = 'eu-west-1' and t.id > 1",
			calls:       map[string][]string{"test_types": {"list [id > 1]"}, "test_optional": {"list []"}},
			engineQuals: map[string][]string{"test_optional": {}},
			want:        joinRows(func(id int64) (any, bool) { return fmt.Sprintf("opt-%d", 2*id), id > 1 && id <= 10 }),
		},
		{
			// The anti-join: pushing `o.name is null` into o's scan would be wrong.
			name:        "left join anti-join",
			sql:         "select t.id, o.name from test_types t left join test_optional o on o.size = t.id * 20 where o.name is null",
			calls:       map[string][]string{"test_types": {"list []"}, "test_optional": {"list []"}},
			engineQuals: map[string][]string{"test_optional": {}, "test_types": {}},
			want:        joinRows(func(id int64) (any, bool) { return nil, id > 10 }),
		},
		{
			// ON conditions of the inner side filter that side only: they are pushed.
			name:  "left join, on condition of the inner side",
			sql:   "select t.id, o.name from test_types t left join test_optional o on o.region = 'us-east-1' and o.size = t.id * 10",
			calls: map[string][]string{"test_types": {"list []"}, "test_optional": {"list [region = us-east-1]"}},
			want: joinRows(func(id int64) (any, bool) {
				if id%2 == 1 {
					return fmt.Sprintf("opt-%d", id), true
				}
				return nil, true
			}),
		},
		{
			// An ON condition of the preserved side filters nothing: not pushed.
			name:        "left join, on condition of the preserved side",
			sql:         "select t.id, o.name from test_types t left join test_optional o on o.size = t.id * 10 and t.id = 1",
			calls:       map[string][]string{"test_types": {"list []"}, "test_optional": {"list []"}},
			engineQuals: map[string][]string{"test_types": {}},
			want: joinRows(func(id int64) (any, bool) {
				if id == 1 {
					return "opt-1", true
				}
				return nil, true
			}),
		},
		{
			name:        "right join, where on the nullable side",
			sql:         "select o.size / 10, t.name from test_types t right join test_optional o on o.size = t.id * 10 where t.id = 2 or o.size = 10",
			calls:       map[string][]string{"test_types": {"list []"}, "test_optional": {"list []"}},
			engineQuals: map[string][]string{"test_types": {}},
			want:        [][2]any{{int64(1), "item-1"}, {int64(2), "item-2"}},
		},
		{
			name:  "self-join, different quals per alias",
			sql:   "select a.id, b.id from test_types a join test_types b on a.id = b.id + 1 where a.id < 5 and b.name = 'item-2'",
			calls: map[string][]string{"test_types": {"list [id < 5]", "list [name = item-2]"}},
			want:  [][2]any{{int64(3), int64(2)}},
		},
		{
			name:  "self-join, gets",
			sql:   "select a.id, b.id from test_types a, test_types b where a.id = 2 and b.id = 5",
			calls: map[string][]string{"test_types": {"get [id = 2]", "get [id = 5]"}},
			want:  [][2]any{{int64(2), int64(5)}},
		},
		{
			name:  "self-join, one side unpinned",
			sql:   "select a.id, b.id from test_types a join test_types b on b.id = a.id + 0 where a.active and a.id >= 4",
			calls: map[string][]string{"test_types": {"list []", "list [active = true id >= 4]"}},
			want: joinRows(func(id int64) (any, bool) {
				return id, id%2 == 0 && id >= 4
			}),
		},
		{
			// A join on key columns may hand one side's values to the other as quals; the
			// calls are the engine's business, the rows are not.
			name: "self-join on the key column",
			sql:  "select a.id, b.name from test_types a join test_types b on b.id = a.id where a.active and a.id >= 4",
			want: joinRows(func(id int64) (any, bool) {
				return modelRow(id, testAccount).Name, id%2 == 0 && id >= 4
			}),
		},
		{
			name:  "subquery in where",
			sql:   "select id, name from test_types where id in (select n from test_required where kind = 'a')",
			calls: map[string][]string{"test_types": {"list []"}, "test_required": {"list [kind = a]"}},
			want: joinRows(func(id int64) (any, bool) {
				return modelRow(id, testAccount).Name, id <= 5
			}),
		},
		{
			name:  "union of two scans",
			sql:   "select id, 'a' from test_types where id = 1 union all select id, 'b' from test_types where id = 2",
			calls: map[string][]string{"test_types": {"get [id = 1]", "get [id = 2]"}},
			want:  [][2]any{{int64(1), "a"}, {int64(2), "b"}},
		},
		{
			name:  "except in a subquery",
			sql:   "select * from (select id, name from test_types where id < 4 except select id, name from test_types where id = 2) s",
			calls: map[string][]string{"test_types": {"get [id = 2]", "list [id < 4]"}},
			want:  [][2]any{{int64(1), "item-1"}, {int64(3), "item-3"}},
		},
		{
			name:  "cte",
			sql:   "with x as (select id, name from test_types where id = 2) select * from x",
			calls: map[string][]string{"test_types": {"get [id = 2]"}},
			want:  [][2]any{{int64(2), "item-2"}},
		},
		{
			name:  "subquery in from",
			sql:   "select s.id, s.name from (select id, name from test_types where id > 4) s",
			calls: map[string][]string{"test_types": {"list [id > 4]"}},
			want: joinRows(func(id int64) (any, bool) {
				return modelRow(id, testAccount).Name, id > 4
			}),
		},
	}
	eng := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			testplugin.Calls.Reset()
			rows, res := collect(t, eng, tt.sql)
			var got [][2]any
			for _, r := range rows {
				if len(r) != 2 {
					t.Fatalf("row %v, want 2 columns", r)
				}
				got = append(got, [2]any{r[0], r[1]})
			}
			sortPairs(got)
			want := slices.Clone(tt.want)
			sortPairs(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s\nrows = %v\nwant   %v", tt.sql, got, want)
			}
			for table, want := range tt.calls {
				if got := callSets(table); !slices.Equal(got, want) {
					t.Errorf("%s\n%s calls = %q, want %q", tt.sql, table, got, want)
				}
			}
			for table, want := range tt.engineQuals {
				for _, s := range res.Stats() {
					if got := slices.Sorted(slices.Values(s.Quals)); s.Table == table && !slices.Equal(got, want) {
						t.Errorf("%s\n%s engine quals = %q, want %q", tt.sql, table, s.Quals, want)
					}
				}
			}
		})
	}
}

// joinRows builds (id, value) pairs for the shared test_types ids that f accepts.
func joinRows(f func(id int64) (any, bool)) [][2]any {
	var out [][2]any
	for id := int64(1); id <= typesRows; id++ {
		if v, ok := f(id); ok {
			out = append(out, [2]any{id, v})
		}
	}
	return out
}

func sortPairs(p [][2]any) {
	slices.SortFunc(p, func(a, b [2]any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
}

func TestPushdownLimit(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		table     string
		wantLimit int64 // -1: none
		wantRows  int
		bug       string
	}{
		{"plain", "select id from test_big limit 5", "test_big", 5, 5, ""},
		{"offset", "select id, name from test_big limit 5 offset 3", "test_big", 8, 5, ""},
		{"star", "select * from test_types limit 3", "test_types", 3, 3, ""},
		{"scalar expression", "select id * 2 as d, upper(name) from test_types limit 2", "test_types", 2, 2, ""},
		{"alias", "select t.id from test_types t limit 2", "test_types", 2, 2, ""},
		{"limit zero", "select id from test_types limit 0", "", 0, 0, ""},
		{"where", "select id from test_types where id > 1 limit 3", "test_types", -1, 3, ""},
		{"where on a non-key column", "select id from test_types where score > 0 limit 3", "test_types", -1, 3, ""},
		{"order by", "select id from test_types order by id desc limit 3", "test_types", -1, 3, ""},
		{"group by", "select active from test_types group by active limit 1", "test_types", -1, 1, ""},
		{"distinct", "select distinct active from test_types limit 1", "test_types", -1, 1, ""},
		{"distinct on", "select distinct on (active) id from test_types limit 1", "test_types", -1, 1, ""},
		{"count", "select count(*) from test_types limit 1", "test_types", -1, 1, ""},
		{"aggregate", "select max(id) from test_types limit 1", "test_types", -1, 1, ""},
		{"window", "select id, row_number() over () from test_types limit 2", "test_types", -1, 2, ""},
		{"set-returning", "select unnest(array[id, id]) from test_types limit 3", "test_types", -1, 3, ""},
		{"join", "select t.id from test_types t join test_optional o on o.size = t.id * 10 limit 2", "test_types", -1, 2, ""},
		{"join, other side", "select t.id from test_types t join test_optional o on o.size = t.id * 10 limit 2", "test_optional", -1, 2, ""},
		{"subquery with where", "select * from (select id from test_types where id > 1) s limit 2", "test_types", -1, 2, ""},
		{"union", "select id from test_types union select id from test_types limit 2", "test_types", -1, 2, ""},
	}
	eng := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			testplugin.Calls.Reset()
			start := time.Now()
			rows, _ := collect(t, eng, tt.sql)
			if len(rows) != tt.wantRows {
				t.Errorf("%s: %d rows, want %d", tt.sql, len(rows), tt.wantRows)
			}
			if tt.table == "" {
				return
			}
			calls := testplugin.Calls.ForTable(tt.table)
			if len(calls) == 0 {
				t.Fatalf("%s: no call of %s", tt.sql, tt.table)
			}
			for _, c := range calls {
				if c.Limit != tt.wantLimit {
					t.Errorf("%s: %s limit = %d, want %d", tt.sql, tt.table, c.Limit, tt.wantLimit)
				}
			}
			if tt.table == "test_big" && time.Since(start) > 5*time.Second {
				t.Errorf("%s took %v: the plugin did not stop at the limit", tt.sql, time.Since(start))
			}
		})
	}
}

// TestPushdownLimitStopsPlugin: a LIMIT on a million-row scan with a WHERE is not pushed, but
// the query still ends promptly because the engine stops the scan once it has its rows.
func TestPushdownLimitStopsPlugin(t *testing.T) {
	eng := engine(t)
	start := time.Now()
	rows, _ := collect(t, eng, "select id from test_big where value > 10 limit 3")
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("limit 3 of a million-row scan took %v", d)
	}
}

// TestPlanScans checks Plan reports the same scans a query would run, without any call.
func TestPlanScans(t *testing.T) {
	eng := engine(t)
	testplugin.Calls.Reset()
	p, err := eng.Plan(t.Context(), "select t.id, o.name from test_types t join big.test_big o on o.id = t.id where t.id in (1, 2) and o.name = 'big-1'")
	if err != nil {
		t.Fatal(err)
	}
	if calls := testplugin.Calls.All(); len(calls) != 0 {
		t.Errorf("Plan made plugin calls: %+v", calls)
	}
	got := map[string]query.ScanInfo{}
	for _, s := range p.Scans {
		got[s.Connection+"."+s.Table] = s
	}
	if s := got["test.test_types"]; !slices.Equal(s.Quals, []string{"id = (1, 2)"}) || s.Limit != -1 {
		t.Errorf("test_types scan = %+v, want quals [id = (1, 2)] and no limit", s)
	}
	if s := got["big.test_big"]; !slices.Equal(s.Quals, []string{"name = 'big-1'"}) {
		t.Errorf("test_big scan = %+v, want quals [name = 'big-1']", s)
	}
	if len(p.Columns) != 2 || p.Columns[0].Name != "id" || p.Columns[1].Name != "name" {
		t.Errorf("columns = %+v, want id, name", p.Columns)
	}
}
