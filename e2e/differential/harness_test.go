package differential

import (
	"context"
	"testing"
)

// Tests of the harness's own rules, so a mismatch is the engine's and not the harness's.

func TestFixClock(t *testing.T) {
	for in, want := range map[string]string{
		"select now()":                      "select ('2025-06-30 12:00:00+00'::timestamptz)",
		"where t > NOW ( ) - interval '1d'": "where t > ('2025-06-30 12:00:00+00'::timestamptz) - interval '1d'",
		"select current_date, 'now()'":      "select ('2025-06-30'::date), 'now()'",
		`select "now"(), known_date`:        `select "now"(), known_date`,
		"select current_timestamp -- now()": "select ('2025-06-30 12:00:00+00'::timestamptz) -- now()",
		"select snow(), localtimestamp":     "select snow(), ('2025-06-30 12:00:00'::timestamp)",
	} {
		if got := fixClock(in); got != want {
			t.Errorf("fixClock(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLikeExample(t *testing.T) {
	for p, want := range map[string]string{"%prod%": "prod", "arn:aws:iam::%:root": "arn:aws:iam:::root", "a_b": "axb", `{ \"M\" }`: `{ "M" }`} {
		if got := likeExample(p); got != want {
			t.Errorf("likeExample(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestOrderedTies(t *testing.T) {
	sql := "select k, v from t order by k desc"
	top, limited, ordered := shapeOfQuery(sql)
	if !ordered || limited {
		t.Fatal("shapeOfQuery")
	}
	pgRes := &result{cols: []string{"k", "v"}, rows: [][]any{{2.0, "c"}, {1.0, "a"}, {1.0, "b"}}}
	cases := []struct {
		rows  [][]any
		equal bool
		kind  string
	}{
		{[][]any{{2.0, "c"}, {1.0, "b"}, {1.0, "a"}}, true, ""},       // ties reordered
		{[][]any{{1.0, "a"}, {2.0, "c"}, {1.0, "b"}}, false, "order"}, // not a tie
		{[][]any{{2.0, "c"}, {1.0, "a"}, {1.0, "x"}}, false, "values"},
	}
	for i, c := range cases {
		// Sort keys are output columns: no Postgres probe, so no connection is needed.
		ok, kind, detail, _ := orderedEqual(context.Background(), nil, top, pgRes, &result{cols: pgRes.cols, rows: c.rows}, limited)
		if ok != c.equal || kind != c.kind {
			t.Errorf("case %d: equal=%v kind=%q (%s), want %v %q", i, ok, kind, detail, c.equal, c.kind)
		}
	}
}

func TestUnorderedAggregates(t *testing.T) {
	got := unorderedColumns("with a as (select r, array_agg(n) as names from t group by r) select r, names, string_agg(x, ', ') as s, array_agg(y order by y) as o from a", []string{"r", "names", "s", "o"})
	if _, ok := got[1]; !ok {
		t.Error("names (array_agg through a CTE) not found")
	}
	if a, ok := got[2]; !ok || a.sep != ", " {
		t.Error("string_agg not found")
	}
	if _, ok := got[3]; ok {
		t.Error("array_agg with its own ORDER BY must keep its order")
	}
}

func TestCanonicalValues(t *testing.T) {
	// jsonb semantically, numbers numerically, text exactly.
	a := canon(map[string]any{"b": int64(1), "a": []any{1.0, "x"}})
	b := canon(map[string]any{"a": []any{int32(1), "x"}, "b": 1.0})
	if key(a) != key(b) {
		t.Errorf("%s != %s", key(a), key(b))
	}
	if key("1") == key(1.0) {
		t.Error("text and number must differ")
	}
}
