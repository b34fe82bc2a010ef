package query_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/query"
)

func TestScanTypes(t *testing.T) {
	eng := engine(t)
	rows, err := eng.Query(t.Context(), "select name, id, score, active, created_at, tags, items, ip, path, id as small from test_types where id = 4")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var (
		name      string
		id        int64
		score     float64
		active    bool
		createdAt time.Time
		tags      json.RawMessage
		items     json.RawMessage
		ip        string
		path      string
		small     int
	)
	if err := rows.Scan(&name, &id, &score, &active, &createdAt, &tags, &items, &ip, &path, &small); err != nil {
		t.Fatal(err)
	}
	want := modelRow(4, testAccount)
	if name != want.Name || id != 4 || score != want.Score || active != want.Active || ip != want.IP || path != want.Path || small != 4 {
		t.Errorf("scanned %q %d %v %v %q %q %d, want %v", name, id, score, active, ip, path, small, want)
	}
	if !createdAt.Equal(want.CreatedAt) {
		t.Errorf("created_at = %v, want %v", createdAt, want.CreatedAt)
	}
	if !json.Valid(tags) || !jsonEqual(json.RawMessage(tags), want.Tags) {
		t.Errorf("tags = %s, want %v", tags, want.Tags)
	}
	if !json.Valid(items) || !jsonEqual(json.RawMessage(items), want.Items) {
		t.Errorf("items = %s, want %v", items, want.Items)
	}
	if rows.Next() {
		t.Error("more than one row for id = 4")
	}
}

func TestScanNull(t *testing.T) {
	eng := engine(t)
	// id 7 has a NULL name; id 10 NULL tags (from the plugin), plus a NULL the SQL makes.
	rows, err := eng.Query(t.Context(), "select name, tags, nullif(id, id), name from test_types where id in (7, 10) order by id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		name  *string
		tags  json.RawMessage
		null  *int64
		other any
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.tags, &r.null, &r.other); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows, want 2", len(got))
	}
	// id 7: NULL name, tags present.
	if got[0].name != nil || got[0].other != nil || got[0].null != nil {
		t.Errorf("id 7: name %v other %v null %v, want all nil", got[0].name, got[0].other, got[0].null)
	}
	if !jsonEqual(got[0].tags, modelRow(7, "").Tags) {
		t.Errorf("id 7: tags %s", got[0].tags)
	}
	// id 10: a name, NULL tags.
	if got[1].name == nil || *got[1].name != "item-10" || got[1].tags != nil {
		t.Errorf("id 10: name %v tags %s, want item-10 and NULL", got[1].name, got[1].tags)
	}

	// A NULL into a plain string is an error that names the column, not a silent "".
	rows2, err := eng.Query(t.Context(), "select name as the_name from test_types where id = 7")
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	if !rows2.Next() {
		t.Fatalf("no row: %v", rows2.Err())
	}
	var s string
	if err := rows2.Scan(&s); err == nil || !strings.Contains(err.Error(), "the_name") {
		t.Errorf("Scan(NULL into *string) = %v, want an error naming the_name", err)
	}
}

func TestScanAny(t *testing.T) {
	eng := engine(t)
	rows, err := eng.Query(t.Context(), "select id, name, score, active, created_at, tags, items, ip, sp_connection_name from test_types where id = 2")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	dest := make([]any, 9)
	ptrs := make([]any, 9)
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	want := modelRow(2, testAccount)
	expect := []any{int64(2), "item-2", 3.0, true, want.CreatedAt, want.Tags, want.Items, "10.0.0.2", "test"}
	for i := range expect {
		if fmt.Sprintf("%T", dest[i]) != fmt.Sprintf("%T", expect[i]) {
			t.Errorf("column %d is %T, want %T", i, dest[i], expect[i])
			continue
		}
		if !jsonEqual(dest[i], expect[i]) {
			t.Errorf("column %d = %v, want %v", i, dest[i], expect[i])
		}
	}
	if tm, ok := dest[4].(time.Time); ok && (tm.Location() != time.UTC || !tm.Equal(want.CreatedAt)) {
		t.Errorf("created_at = %v (%v), want %v in UTC", tm, tm.Location(), want.CreatedAt)
	}
	vals, err := rows.Values()
	if err != nil || !jsonEqual(vals, dest) {
		t.Errorf("Values = %v, %v; want what Scan(*any) gave", vals, err)
	}
}

func TestScanErrors(t *testing.T) {
	eng := engine(t)
	rows, err := eng.Query(t.Context(), "select id, name from test_types where id = 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var id int64
	var name string
	if err := rows.Scan(&id, &name); err == nil {
		t.Error("Scan before Next succeeded")
	}
	if _, err := rows.Values(); err == nil {
		t.Error("Values before Next succeeded")
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Scan(&id); err == nil {
		t.Error("Scan with too few destinations succeeded")
	}
	var n int64
	if err := rows.Scan(&id, &n); err == nil {
		t.Error("Scan of text into *int64 succeeded")
	}
	if err := rows.Scan(id, &name); err == nil {
		t.Error("Scan into a non-pointer succeeded")
	}
	if err := rows.Scan(&id, &name); err != nil || id != 1 || name != "item-1" {
		t.Errorf("Scan = %v (%d, %q), want 1, item-1", err, id, name)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestColumns(t *testing.T) {
	eng := engine(t)
	tests := []struct {
		sql  string
		want string // name:type, ...
	}{
		{
			"select id, name, score, active, created_at, tags, items, ip, cidr, inet, path, account_id from test_types",
			"id:bigint name:text score:double precision active:boolean created_at:timestamptz tags:jsonb items:jsonb " +
				"ip:text cidr:text inet:text path:text account_id:text",
		},
		{
			"select count(*), id::text as s, created_at::date as d, tags -> 'environment' as env, tags ->> 'environment' as env_text from test_types group by id, created_at, tags",
			"count:bigint s:text d:date env:jsonb env_text:text",
		},
		{"select id as \"Mixed Case\", 1 + 1 from test_types", "Mixed Case:bigint ?column?:bigint"},
		{"select t.id, o.id from test_types t join big.test_big o on o.id = t.id", "id:bigint id:bigint"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			check := func(what string, cols []query.Column) {
				var got []string
				for _, c := range cols {
					got = append(got, c.Name+":"+c.Type)
				}
				if strings.Join(got, " ") != tt.want {
					t.Errorf("%s columns = %s\n want %s", what, strings.Join(got, " "), tt.want)
				}
			}
			rows, err := eng.Query(t.Context(), tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			check("Query", rows.Columns())
			rows.Close()
			p, err := eng.Plan(t.Context(), tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			check("Plan", p.Columns)
		})
	}
}

// TestResultRows compares whole rows of test_types with the plugin's documented data.
func TestResultRows(t *testing.T) {
	eng := engine(t)
	rows, _ := collect(t, eng, "select id, name, score, active, created_at, tags, items, ip, cidr, inet, path, account_id, sp_connection_name, _ctx ->> 'connection_name' from test_types order by id")
	if int64(len(rows)) != typesRows {
		t.Fatalf("%d rows, want %d", len(rows), typesRows)
	}
	for i, r := range rows {
		m := modelRow(int64(i+1), testAccount)
		want := []any{m.ID, m.Name, m.Score, m.Active, m.CreatedAt, m.Tags, m.Items, m.IP, m.CIDR, m.Inet, m.Path, m.AccountID, "test", "test"}
		for c := range want {
			if !jsonEqual(r[c], want[c]) {
				t.Errorf("row %d column %d = %#v, want %#v", i+1, c, r[c], want[c])
			}
		}
	}
}

// TestResultExpressions checks results of Postgres-dialect expressions over plugin data
// against the model, whatever was pushed down.
func TestResultExpressions(t *testing.T) {
	eng := engine(t)
	tests := []struct {
		sql  string
		keep func(r typesRow) bool
	}{
		{"select id from test_types where tags ->> 'environment' = 'prod'", func(r typesRow) bool {
			tags, _ := r.Tags.(map[string]any)
			return tags["environment"] == "prod"
		}},
		{"select id from test_types where tags ->> 'department' is null", func(r typesRow) bool {
			tags, _ := r.Tags.(map[string]any)
			return tags["department"] == nil
		}},
		{"select id from test_types where jsonb_array_length(items) = 2", func(r typesRow) bool { return len(r.Items) == 2 }},
		{"select id from test_types where name like 'item-1%'", func(r typesRow) bool {
			s, _ := r.Name.(string)
			return strings.HasPrefix(s, "item-1")
		}},
		{"select id from test_types where id between 3 and 6", func(r typesRow) bool { return r.ID >= 3 && r.ID <= 6 }},
		{"select id from test_types where created_at > '2026-01-05' and not active", func(r typesRow) bool {
			return r.CreatedAt.After(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) && !r.Active
		}},
		{"select id from test_types where path like 'root.group0.%'", func(r typesRow) bool { return r.ID%3 == 0 }},
		{"select id from test_types where score::int = 3", func(r typesRow) bool { return r.ID == 2 }},
		{"select id from test_types where id % 5 = 0 or name is null", func(r typesRow) bool { return r.ID%5 == 0 || r.Name == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			rows, _ := collect(t, eng, tt.sql)
			if got, want := column[int64](t, rows, 0), ids(tt.keep); !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
}

// ageDays is extract(day from now - t), as Postgres computes it: whole days, truncated
// toward zero.
func ageDays(now, t time.Time) int64 {
	return int64(now.Sub(t) / (24 * time.Hour))
}

// TestTaggingPolicyQuery runs the query, verbatim but for the table, and compares
// with the plugin's data and the clock.
func TestTaggingPolicyQuery(t *testing.T) {
	eng := engine(t)
	sql := `select name, tags ->> 'environment' as env
                            from test_types
                            where extract(day from current_timestamp - created_at)::int < 400`
	now := time.Now()
	rows, res := collect(t, eng, sql)
	cols := res.Columns()
	if len(cols) != 2 || cols[0].Name != "name" || cols[0].Type != "text" || cols[1].Name != "env" || cols[1].Type != "text" {
		t.Errorf("columns = %+v, want name text, env text", cols)
	}
	var got, want []string
	for _, r := range rows {
		got = append(got, fmt.Sprint(r))
	}
	for _, m := range model() {
		if ageDays(now, m.CreatedAt) < 400 {
			var env any
			if tags, ok := m.Tags.(map[string]any); ok {
				env = tags["environment"]
			}
			want = append(want, fmt.Sprint([]any{m.Name, env}))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rows = %v\nwant   %v", got, want)
	}

	// Against 400 rows whose ages straddle the threshold, so the date arithmetic decides.
	threshold := ageDays(now, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) - 150
	rows, _ = collect(t, eng, fmt.Sprintf(`select id from wide.test_types
		where extract(day from current_timestamp - created_at)::int < %d`, threshold))
	var wantIDs []int64
	for i := int64(1); i <= wideRows; i++ {
		if ageDays(now, modelRow(i, "").CreatedAt) < threshold {
			wantIDs = append(wantIDs, i)
		}
	}
	if got := column[int64](t, rows, 0); !slices.Equal(got, wantIDs) {
		t.Errorf("age < %d: %d ids %v..., want %d ids %v...", threshold, len(got), got[:min(3, len(got))], len(wantIDs), wantIDs[:min(3, len(wantIDs))])
	}
	if len(wantIDs) == 0 || len(wantIDs) == wideRows {
		t.Errorf("threshold %d keeps %d of %d rows: the check does not discriminate", threshold, len(wantIDs), wideRows)
	}
}
