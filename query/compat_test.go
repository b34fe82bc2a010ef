package query_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// Each compat rule is pinned by a query whose expected answer is what PostgreSQL returns
// for the same data (test_types with rows = 6, see the testplugin package doc).
func TestCompatRules(t *testing.T) {
	eng := compatEngine(t)
	tests := []struct {
		name, sql string
		cols      string // comma-separated output names, "" to skip
		want      string // rows rendered with fmt %v, joined by ";"
	}{
		{"jsonb ->> and output naming", `select id, tags ->> 'environment' from test_types where id <= 2 order by id`, "id,?column?", "[1 dev];[2 prod]"},
		{"-> then ->> precedence with IS NULL", `select id from test_types where tags -> 'department' ->> 'x' is null and id = 3`, "id", "[3]"},
		{"#>> path", `select items #>> '{0,Effect}' as e from test_types where id = 1`, "e", "[Allow]"},
		{"-> array index", `select items -> 1 ->> 'Action' as a from test_types where id = 2`, "a", "[s3:PutObject]"},
		{"-> negative index", `select items -> -1 ->> 'Effect' as a from test_types where id = 2`, "a", "[Deny]"},
		{"key that looks like a path", `select '{"$defs": 1}'::jsonb -> '$defs' as d`, "d", "[1]"},
		{"? existence", `select count(*) from test_types where tags ? 'department'`, "count", "[4]"},
		{"?| any", `select count(*) from test_types where tags ?| array['nope', 'department']`, "count", "[4]"},
		{"?& all", `select count(*) from test_types where tags ?& array['environment', 'department']`, "count", "[4]"},
		{"@> containment", `select count(*) from test_types where tags @> '{"environment": "prod"}'`, "count", "[3]"},
		{"<@ contained", `select count(*) from test_types where '{"environment": "prod"}' <@ tags`, "count", "[3]"},
		{"jsonb_array_elements in FROM, alias as value", `select id, s ->> 'Effect' as effect from test_types, jsonb_array_elements(items) as s where id = 2 order by effect`, "id,effect", "[2 Allow];[2 Deny]"},
		{"jsonb_array_elements value column", `select s.value ->> 'Action' as a from test_types, jsonb_array_elements(items) s where id = 1`, "a", "[s3:GetObject]"},
		{"jsonb_array_elements_text in select list", `select jsonb_array_elements_text('["a","b"]'::jsonb) as v order by v`, "v", "[a];[b]"},
		{"jsonb_array_elements in select list", `select count(*) from (select jsonb_array_elements(items) from test_types) x`, "count", "[9]"},
		{"jsonb_each_text in FROM", `select key, value from test_types, jsonb_each_text(tags) where id = 1 order by key`, "key,value", "[department eng];[environment dev]"},
		{"jsonb_object_keys", `select jsonb_object_keys(tags) as k from test_types where id = 1 order by k`, "k", "[department];[environment]"},
		{"jsonb_array_length", `select jsonb_array_length(items) from test_types where id = 2`, "jsonb_array_length", "[2]"},
		{"jsonb_typeof", `select jsonb_typeof(tags), jsonb_typeof(items), jsonb_typeof(tags -> 'environment') from test_types where id = 1`, "jsonb_typeof,jsonb_typeof,jsonb_typeof", "[object array string]"},
		{"jsonb_agg with ORDER BY", `select jsonb_agg(id order by id desc) as ids from test_types where id < 4`, "ids", "[[3 2 1]]"},
		{"jsonb_agg DISTINCT", `select jsonb_agg(distinct tags ->> 'environment') as envs from test_types`, "envs", "[[dev prod]]"},
		{"jsonb_build_object", `select jsonb_build_object('id', id, 'name', name) as o from test_types where id = 1`, "o", "[map[id:1 name:item-1]]"},
		{"count naming", `select count(*), max(id) from test_types`, "count,max", "[6 6]"},
		{"cast naming", `select id::text, 'a'::text from test_types where id = 1`, "id,text", "[1 a]"},
		{"case and coalesce naming", `select case when id = 1 then 'x' end, coalesce(name, 'none') from test_types where id = 1`, "case,coalesce", "[x item-1]"},
		{"integer division", `select 7 / 2 as q, id / 4 as r from test_types where id = 6`, "q,r", "[3 1]"},
		{"regex ~ is a substring match", `select count(*) from test_types where name ~ 'em-[12]'`, "count", "[2]"},
		{"regex ~* ignores case", `select count(*) from test_types where name ~* 'ITEM-1'`, "count", "[1]"},
		{"regex !~", `select count(*) from test_types where name !~ '1'`, "count", "[5]"},
		{"jsonb = literal compares values", `select '{"a":1,"b":2}'::jsonb = '{"b": 2, "a": 1}' as eq, tags -> 'environment' = '"dev"' as dev from test_types where id = 1`, "eq,dev", "[true true]"},
		{"jsonb < > literal compares numbers", `select '{"n": 59}'::jsonb -> 'n' > '7' as gt, '{"n": 5}'::jsonb -> 'n' <= '5.0' as le`, "gt,le", "[true true]"},
		{"jsonb column = literal compares values", `select id, tags ->> 'environment' as e, tags ->> 'department' as d from test_types where tags = '{"department": "eng",  "environment": "dev"}' order by id`, "id,e,d", "[1 dev eng];[5 dev eng]"},
		{"jsonb order between types and sizes", `select '"a"'::jsonb < '1' as s, '[1, 2]'::jsonb < '[1, 2, 0]' as a, '{"b": 1}'::jsonb > '{"aa": 0}' as o, 'true'::jsonb > '99' as b`, "s,a,o,b", "[true true true true]"},
		{"jsonb <> agrees with ->> <>", `select count(*) filter (where tags -> 'environment' <> '"dev"') as j, count(*) filter (where tags ->> 'environment' <> 'dev') as t from test_types`, "j,t", "[3 3]"},
		{"ORDER BY a money column sorts by amount", `select v::numeric::money as m from (values (969.95), (2483.13), (517.16)) t(v) order by m desc`, "m", "[$2,483.13];[$969.95];[$517.16]"},
		{"ORDER BY a money column by position", `select v::numeric::money as m from (values (969.95), (2483.13)) t(v) order by 1`, "m", "[$969.95];[$2,483.13]"},
		{"regex lookahead", `select count(*) from test_types where name ~ '^(?=.*-)(?!.*[2-5]$)item'`, "count", "[2]"},
		{"regex lookbehind, case-insensitive", `select count(*) from test_types where name ~* '(?<=ITEM-)[13]'`, "count", "[2]"},
		{"regex back reference", `select count(*) from test_types where name || name ~ '^(item-\d)\1$'`, "count", "[6]"},
		{"regex lookahead in LIKE ANY style", `select count(*) from test_types where name !~ any (array['(?=.*1)', '(?=.*2)'])`, "count", "[6]"},
		{"regex . matches a newline", `select E'a\nb' ~ 'a.b' as m, E'a\nb' ~ '(?=a)a.b' as n`, "m,n", "[true true]"},
		{"LIKE ANY literal array", `select count(*) from test_types where name like any (array['item-1', 'item-2%'])`, "count", "[2]"},
		{"LIKE ALL", `select count(*) from test_types where name like all (array['item-%', '%1'])`, "count", "[1]"},
		{"ILIKE ANY array expression", `select count(*) from test_types where name ilike any (string_to_array('ITEM-1,ITEM-3', ','))`, "count", "[2]"},
		{"extract day from interval", `select extract(day from timestamptz '2026-01-10' - created_at)::int as d from test_types where id = 1`, "d", "[8]"},
		{"string_to_array and array_length", `select array_length(string_to_array('a,b,c', ','), 1) as n, cardinality(array['x']) as c`, "n,c", "[3 1]"},
		{"unnest alias names the column", `select j from unnest(array['a','b']) as j order by j`, "j", "[a];[b]"},
		{"scalar function in FROM", `select g from lower('ABC') as g`, "g", "[abc]"},
		{"glob pattern", `select count(*) from test_types, glob('item-?') as p where name like p`, "count", "[6]"},
		{"inet containment", `select count(*) from test_types where ip::inet <<= '10.0.0.0/30'`, "count", "[3]"},
		{"inet functions", `select host('10.1.2.3/16'::inet), masklen(cidr), family(ip) from test_types where id = 1`, "host,masklen,family", "[10.1.2.3 16 4]"},
		{"inet network", `select network('10.1.2.3/16'::inet) as n`, "n", "[10.1.0.0/16]"},
		{"ltree nlevel", `select nlevel(path) from test_types where id = 1`, "nlevel", "[3]"},
		{"union arms resolve plugin tables", `select id from test_types where id = 1 union all select n from test_required where kind = 'a' and n = 2 order by id`, "id", "[1];[2]"},
		{"current_date naming", `select current_date = current_date as same`, "same", "[true]"},
		{"jsonb_extract_path_text", `select jsonb_extract_path_text(tags, 'environment') as e from test_types where id = 2`, "e", "[prod]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cols, rows := compatRows(t, eng, tc.sql)
			if tc.cols != "" && cols != tc.cols {
				t.Errorf("columns %s, want %s", cols, tc.cols)
			}
			if rows != tc.want {
				t.Errorf("rows %s, want %s\n%s", rows, tc.want, tc.sql)
			}
		})
	}
}

func TestInternalFunctionsRefused(t *testing.T) {
	eng := compatEngine(t)
	for _, q := range []string{
		`select * from spout_scan('s1')`,
		`select spout_emit('q1', 1)`,
	} {
		_, err := eng.Query(context.Background(), q)
		var se *query.SQLError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "internal to Spout") || se.Line != 1 {
			t.Errorf("%s: got %v, want a located 'internal to Spout' error", q, err)
		}
	}
}

// The prototype's binder blow-up: a chain of ORs over nested JSON operators. The rewrite
// turns the operators into function calls, so it plans in well under a second.
func TestPathologicalJSONChainPlansQuickly(t *testing.T) {
	eng := compatEngine(t)
	var ors []string
	for i := 0; i < 12; i++ {
		ors = append(ors, fmt.Sprintf("tags -> 'a%d' -> 'b' is not null", i))
	}
	start := time.Now()
	if _, err := eng.Plan(context.Background(), "select id from test_types where "+strings.Join(ors, " or ")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("planning took %s", d)
	}
}

func TestPlanTimeoutStopsPlanning(t *testing.T) {
	ctx := context.Background()
	eng, err := query.New(ctx, query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", "rows = 6"), query.WithPlanTimeout(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	testplugin.Calls.Reset()
	_, err = eng.Query(ctx, "select id from test_types")
	if !errors.Is(err, query.ErrPlanTimeout) {
		t.Fatalf("got %v, want ErrPlanTimeout", err)
	}
	if n := len(testplugin.Calls.ForTable("test_types")); n != 0 {
		t.Fatalf("plugin called %d times after a plan timeout", n)
	}
}

func compatEngine(t *testing.T) *query.Engine {
	t.Helper()
	eng, err := query.New(context.Background(), query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", "rows = 6"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func compatRows(t *testing.T, eng *query.Engine, sql string) (cols, rows string) {
	t.Helper()
	r, err := eng.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer r.Close()
	var names []string
	for _, c := range r.Columns() {
		names = append(names, c.Name)
	}
	var out []string
	for r.Next() {
		v, _ := r.Values()
		out = append(out, fmt.Sprint(v))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return strings.Join(names, ","), strings.Join(out, ";")
}

func TestUnsupportedConstructsAreLocatedWithHints(t *testing.T) {
	eng := compatEngine(t)
	tests := []struct {
		sql, msg, hint string
		line, col      int
	}{
		{"select id,\n  subpath(path, 1) from test_types", "function subpath is not supported", "ltree functions", 2, 3},
		{"select id from test_types\nwhere name ~ ('(?=.*[a-z])' || 'item')", "lookaround", "without lookahead", 2, 16},
	}
	for _, tc := range tests {
		_, err := eng.Plan(context.Background(), tc.sql)
		if err == nil {
			// The regex is only compiled when the query runs.
			var rows *query.Rows
			rows, err = eng.Query(context.Background(), tc.sql)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
			}
		}
		var se *query.SQLError
		if !errors.As(err, &se) {
			t.Fatalf("%s: got %v, want a SQLError", tc.sql, err)
		}
		if !strings.Contains(se.Message, tc.msg) || !strings.Contains(se.Hint, tc.hint) || se.Line != tc.line || se.Column != tc.col {
			t.Errorf("%s:\ngot  %d:%d %q (hint %q)\nwant %d:%d containing %q (hint %q)", tc.sql, se.Line, se.Column, se.Message, se.Hint, tc.line, tc.col, tc.msg, tc.hint)
		}
	}
}
