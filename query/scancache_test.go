package query_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// cacheEngine has test_types with 20 rows on "test" and test_slow with 5ms pages on
// "slow". Tests that count plugin calls reset testplugin.Calls and do not run in parallel.
func cacheEngine(t *testing.T) *query.Engine {
	t.Helper()
	return newEngine(t,
		query.WithConnection("test", "test", "rows = 20"),
		query.WithConnection("slow", "test", `delay = "5ms"`))
}

func newCache(t *testing.T, eng *query.Engine, o query.ScanCacheOptions) *query.ScanCache {
	t.Helper()
	c := eng.NewScanCache(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// sortedRows renders rows as strings, sorted, for comparing results in any order.
func sortedRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r...)
	}
	sort.Strings(out)
	return out
}

// scanCounts sums a result's plugin and cached connection scans.
func scanCounts(r *query.Rows) (plugin, cached int) {
	for _, s := range r.Stats() {
		plugin += s.PluginScans
		cached += s.CachedScans
	}
	return plugin, cached
}

// Each case runs its queries in order on one cache and counts the calls test_types got.
// Every result must equal the same query's result without the cache.
func TestScanCacheServesIdenticalScans(t *testing.T) {
	eng := cacheEngine(t)
	tests := []struct {
		name    string
		queries []string
		calls   int   // List calls of test_types over all the queries
		cached  []int // cached scans per query
	}{
		{"same scan twice", []string{
			"select id, name from test_types",
			"select name, id from test_types order by name desc",
		}, 1, []int{0, 1}},
		{"subset of the columns", []string{
			"select id, name, score, tags from test_types",
			"select name from test_types",
			"select count(*) from test_types",
		}, 1, []int{0, 1, 1}},
		{"superset of the columns scans again", []string{
			"select name from test_types",
			"select id, name, score from test_types",
			"select id, score from test_types",
		}, 2, []int{0, 0, 1}},
		{"different quals scan again", []string{
			"select id from test_types where active",
			"select id from test_types where not active",
			"select id from test_types",
			"select id from test_types where active = true",
		}, 3, []int{0, 0, 0, 1}},
		{"quals no API sees are the same scan", []string{
			"select id from test_types where score > 3",
			"select id from test_types where score <= 3",
		}, 1, []int{0, 1}},
		{"quals in another order are the same scan", []string{
			"select id from test_types where active and name <> 'x'",
			"select id from test_types where name <> 'x' and active",
		}, 1, []int{0, 1}},
		{"a limited scan does not serve an unlimited one", []string{
			"select id from test_types limit 3",
			"select id from test_types",
		}, 2, []int{0, 0}},
		{"a smaller limit is served from a larger one", []string{
			"select id from test_types limit 5",
			"select id from test_types limit 2",
			"select id from test_types limit 7",
		}, 2, []int{0, 1, 0}},
		{"a limited scan is served from an unlimited one", []string{
			"select id, name from test_types",
			"select id from test_types limit 4",
		}, 1, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want [][]string
			for _, sql := range tc.queries {
				rows, _ := collect(t, eng, sql)
				want = append(want, sortedRows(rows))
			}
			c := newCache(t, eng, query.ScanCacheOptions{})
			testplugin.Calls.Reset()
			for i, sql := range tc.queries {
				rows, res := collect(t, eng, sql, query.WithScanCache(c))
				got := sortedRows(rows)
				if strings.Contains(sql, " limit ") {
					// A pushed LIMIT takes any rows; only how many is certain.
					if len(got) != len(want[i]) {
						t.Errorf("%s: %d rows, want %d", sql, len(got), len(want[i]))
					}
				} else if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%s: rows %v, want %v", sql, got, want[i])
				}
				if _, cached := scanCounts(res); cached != tc.cached[i] {
					t.Errorf("%s: %d cached scans, want %d", sql, cached, tc.cached[i])
				}
			}
			if n := len(testplugin.Calls.ForTable("test_types")); n != tc.calls {
				t.Errorf("test_types got %d calls, want %d: %v", n, tc.calls, callSets("test_types"))
			}
			st := c.Stats()
			if want := int64(len(tc.queries) - tc.calls); st.CachedScans != want || st.PluginScans != int64(tc.calls) {
				t.Errorf("cache stats %+v, want %d plugin scans and %d cached", st, tc.calls, want)
			}
		})
	}
}

// Queries that start while the first one's scan is running read its rows as they arrive:
// one plugin call, every query gets every row.
func TestScanCacheConcurrentScansShareOneCall(t *testing.T) {
	eng := cacheEngine(t)
	c := newCache(t, eng, query.ScanCacheOptions{})
	testplugin.Calls.Reset()
	queries := []string{
		"select id, page from slow.test_slow",
		"select id, page from slow.test_slow",
		"select id from slow.test_slow",
		"select page, count(*) from slow.test_slow group by page",
	}
	first, err := eng.Query(t.Context(), queries[0], query.WithScanCache(c))
	if err != nil {
		t.Fatal(err)
	}
	waitPages(t, 2)
	var wg sync.WaitGroup
	counts := make([]int, len(queries))
	errs := make([]error, len(queries))
	for i, sql := range queries[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i+1], errs[i+1] = drain(t.Context(), eng, sql, query.WithScanCache(c))
		}()
	}
	for first.Next() {
		counts[0]++
	}
	errs[0] = first.Err()
	first.Close()
	wg.Wait()
	want := []int{1000, 1000, 1000, 100}
	for i := range queries {
		if errs[i] != nil || counts[i] != want[i] {
			t.Errorf("%s: %d rows, error %v; want %d rows", queries[i], counts[i], errs[i], want[i])
		}
	}
	if n := len(testplugin.Calls.ForTable("test_slow")); n != 1 {
		t.Errorf("test_slow got %d calls, want 1", n)
	}
	if p := testplugin.Calls.SlowPages(); p != 100 {
		t.Errorf("test_slow fetched %d pages, want 100", p)
	}
}

// A scan goes on while any query reads it: the query that started it may stop early.
// A scan nobody reads any more stops and is not kept.
func TestScanCacheScanOutlivesTheQueryThatStartedIt(t *testing.T) {
	eng := cacheEngine(t)
	c := newCache(t, eng, query.ScanCacheOptions{})
	testplugin.Calls.Reset()
	sql := "select id, page from slow.test_slow"
	ctx, cancel := context.WithCancel(t.Context())
	first, err := eng.Query(ctx, sql, query.WithScanCache(c))
	if err != nil {
		t.Fatal(err)
	}
	first.Next()
	type result struct {
		n   int
		err error
	}
	second := make(chan result, 1)
	go func() {
		n, err := drain(t.Context(), eng, sql, query.WithScanCache(c))
		second <- result{n, err}
	}()
	if !eventually(5*time.Second, func() bool { return c.Stats().CachedScans == 1 }) {
		t.Fatalf("the second query did not join the running scan: %+v", c.Stats())
	}
	cancel()
	first.Close()
	if r := <-second; r.err != nil || r.n != 1000 {
		t.Fatalf("second query: %d rows, error %v; want 1000 rows", r.n, r.err)
	}
	if n := len(testplugin.Calls.ForTable("test_slow")); n != 1 {
		t.Errorf("test_slow got %d calls, want 1", n)
	}

	// Now a scan whose only reader leaves: it stops, and the next query scans again.
	// (A fresh cache: the one above holds the complete scan.)
	other := "select id from slow.test_slow"
	c = newCache(t, eng, query.ScanCacheOptions{})
	testplugin.Calls.Reset()
	ctx, cancel = context.WithCancel(t.Context())
	rows, err := eng.Query(ctx, other, query.WithScanCache(c))
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	rows.Close()
	slowPagesSettle(t, "abandoned cached scan")
	if n, err := queryErr(t, eng, other, query.WithScanCache(c)); err != nil || n != 1000 {
		t.Fatalf("after a cancelled scan: %d rows, error %v; want 1000 rows", n, err)
	}
	if n := len(testplugin.Calls.ForTable("test_slow")); n != 2 {
		t.Errorf("test_slow got %d calls, want 2 (the abandoned scan and its retry)", n)
	}
}

// A failed scan is not kept: the next identical scan asks the plugin again, and fails
// again.
func TestScanCacheDoesNotKeepFailedScans(t *testing.T) {
	eng := cacheEngine(t)
	c := newCache(t, eng, query.ScanCacheOptions{})
	testplugin.Calls.Reset()
	for i := 0; i < 2; i++ {
		_, err := queryErr(t, eng, "select id from test_error", query.WithScanCache(c))
		var pe *query.PluginError
		if !errors.As(err, &pe) || pe.Table != "test_error" {
			t.Fatalf("query %d: error %v, want a PluginError for test_error", i, err)
		}
	}
	if n := len(testplugin.Calls.ForTable("test_error")); n != 2 {
		t.Errorf("test_error got %d calls, want 2", n)
	}
}

// An aggregator's members are cached one by one: the members that succeeded are served,
// the failed one is asked again, and the query served from the cache still reports it.
func TestScanCachePartialFailureStillReported(t *testing.T) {
	eng := aggregatorEngine(t, "a2")
	c := newCache(t, eng, query.ScanCacheOptions{})
	testplugin.Calls.Reset()
	sql := "select sp_connection_name, account_id, id from test_types"
	for i := 0; i < 2; i++ {
		got, res := accountRows(t, eng, sql, query.AllowPartial(), query.WithScanCache(c))
		if want := wantAccountRows([]string{"a1", "a3"}, 1, 2, 3); !slices.Equal(got, want) {
			t.Fatalf("query %d: rows %v, want %v", i, got, want)
		}
		st := res.Stats()[0]
		if err := st.Errors["a2"]; err == nil || len(st.Errors) != 1 {
			t.Errorf("query %d: errors %v, want a2's", i, st.Errors)
		}
		if wantCached := 2 * i; st.CachedScans != wantCached || st.PluginScans != 3-wantCached {
			t.Errorf("query %d: %d plugin and %d cached scans, want %d and %d", i, st.PluginScans, st.CachedScans, 3-wantCached, wantCached)
		}
	}
	calls := map[string]int{}
	for _, call := range testplugin.Calls.ForTable("test_types") {
		calls[call.Connection]++
	}
	if want := map[string]int{"a1": 1, "a2": 2, "a3": 1}; !reflect.DeepEqual(calls, want) {
		t.Errorf("calls by connection %v, want %v", calls, want)
	}
	// A plain connection scan and an aggregator's member scan are the same scan.
	if _, res := accountRows(t, eng, "select sp_connection_name, account_id, id from a3.test_types", query.WithScanCache(c)); res.Stats()[0].CachedScans != 1 {
		t.Errorf("a3.test_types was not served from all.test_types' scan: %+v", res.Stats()[0])
	}
}

// Scans whose quals come from a join are distinct per set of values: the same set is
// served, another set asks the plugin.
func TestScanCacheJoinParameters(t *testing.T) {
	eng := cacheEngine(t)
	c := newCache(t, eng, query.ScanCacheOptions{})
	join := func(ids string) string {
		return `select t.id, r.label from test_types t join test_required r on r.kind = t.name
			where t.id in (` + ids + `) and r.n = 1 order by t.id`
	}
	tests := []struct {
		ids, rows, kinds string // kinds: what test_required was asked for
	}{
		{"1, 2", "[1 item-1-1] [2 item-2-1]", "[item-1 item-2]"},
		{"2, 1", "[1 item-1-1] [2 item-2-1]", "[]"},
		{"1, 3", "[1 item-1-1] [3 item-3-1]", "[item-1 item-3]"},
	}
	for _, tc := range tests {
		testplugin.Calls.Reset()
		rows, _ := collect(t, eng, join(tc.ids), query.WithScanCache(c))
		if got := fmt.Sprint(rows); got != "["+tc.rows+"]" {
			t.Errorf("ids %s: rows %s, want [%s]", tc.ids, got, tc.rows)
		}
		if got := fmt.Sprint(requiredKinds()); got != tc.kinds {
			t.Errorf("ids %s: test_required asked for kinds %s, want %s", tc.ids, got, tc.kinds)
		}
	}
}

// Past the memory bound rows go to spill files, they read back the same, and Close
// removes them.
func TestScanCacheSpillsAndCloseRemovesFiles(t *testing.T) {
	eng := cacheEngine(t)
	dir := t.TempDir()
	c := eng.NewScanCache(query.ScanCacheOptions{MemoryBytes: 2000, Dir: dir})
	sql := "select id, name, score, active, created_at, tags, items, ip, cidr, inet, path from test_types"
	wantRows, _ := collect(t, eng, sql)
	want := sortedRows(wantRows)
	testplugin.Calls.Reset()
	for i := 0; i < 3; i++ {
		rows, _ := collect(t, eng, sql, query.WithScanCache(c))
		if got := sortedRows(rows); !reflect.DeepEqual(got, want) {
			t.Fatalf("query %d from the spilled cache: rows %v, want %v", i, got, want)
		}
	}
	if n := len(testplugin.Calls.ForTable("test_types")); n != 1 {
		t.Errorf("test_types got %d calls, want 1", n)
	}
	st := c.Stats()
	if st.SpilledBytes == 0 || st.MemoryBytes > 2000 {
		t.Errorf("stats %+v: want rows spilled and at most 2000 bytes in memory", st)
	}
	if files := spillFiles(t, dir); len(files) != 1 {
		t.Errorf("spill files before Close: %v, want one", files)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if files := spillFiles(t, dir); len(files) != 0 {
		t.Errorf("spill files after Close: %v", files)
	}
	if c.Stats().MemoryBytes != 0 {
		t.Errorf("memory after Close: %d bytes", c.Stats().MemoryBytes)
	}
	if _, err := queryErr(t, eng, sql, query.WithScanCache(c)); !errors.Is(err, query.ErrClosed) {
		t.Errorf("query on a closed cache: error %v, want ErrClosed", err)
	}
}

// Close stops a scan still running; its reader sees ErrClosed.
func TestScanCacheCloseStopsRunningScans(t *testing.T) {
	eng := cacheEngine(t)
	dir := t.TempDir()
	c := eng.NewScanCache(query.ScanCacheOptions{MemoryBytes: 100, Dir: dir})
	testplugin.Calls.Reset()
	rows, err := eng.Query(t.Context(), "select id, page from slow.test_slow", query.WithScanCache(c))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	rows.Next()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if !errors.Is(rows.Err(), query.ErrClosed) {
		t.Errorf("reader of a closed cache: error %v, want ErrClosed", rows.Err())
	}
	slowPagesSettle(t, "scan of a closed cache")
	if files := spillFiles(t, dir); len(files) != 0 {
		t.Errorf("spill files after Close: %v", files)
	}
}

func TestScanCacheBelongsToItsEngine(t *testing.T) {
	c := newCache(t, cacheEngine(t), query.ScanCacheOptions{})
	if _, err := cacheEngine(t).Query(t.Context(), "select id from test_types", query.WithScanCache(c)); err == nil {
		t.Fatal("another engine's scan cache was accepted")
	}
}

// spillFiles lists every file under dir.
func spillFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !d.IsDir() {
			out = append(out, d.Name())
			continue
		}
		sub, err := os.ReadDir(dir + "/" + d.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sub {
			out = append(out, d.Name()+"/"+f.Name())
		}
	}
	return out
}

// An "=" qual on a column that is not a key column only filters (the SDK may use it to
// pick matrix items): a scan without it serves a scan with it, never the reverse.
func TestScanCacheFilterQuals(t *testing.T) {
	eng := cacheEngine(t)
	filtered := "select id from test_types where account_id = '000000000000' and score < 15"
	all := "select id, account_id, score from test_types"
	wantFiltered, _ := collect(t, eng, filtered)
	wantAll, _ := collect(t, eng, all)
	for _, tc := range []struct {
		name    string
		queries []string
		calls   int
	}{
		{"unfiltered first", []string{all, filtered}, 1},
		{"filtered first", []string{filtered, all}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, eng, query.ScanCacheOptions{})
			testplugin.Calls.Reset()
			for _, sql := range tc.queries {
				want := wantAll
				if sql == filtered {
					want = wantFiltered
				}
				rows, _ := collect(t, eng, sql, query.WithScanCache(c))
				if !reflect.DeepEqual(sortedRows(rows), sortedRows(want)) {
					t.Errorf("%s: rows %v, want %v", sql, sortedRows(rows), sortedRows(want))
				}
			}
			if n := len(testplugin.Calls.ForTable("test_types")); n != tc.calls {
				t.Errorf("test_types got %d calls, want %d", n, tc.calls)
			}
		})
	}
}

// Queries announced with Expect make each distinct scan run once, whichever query gets
// there first: the first scan asks for every column the others name and drops the
// filters they do not share.
func TestScanCacheExpect(t *testing.T) {
	eng := cacheEngine(t)
	queries := []string{
		"select name from test_types where account_id = '000000000000'",
		"select id, name, score from test_types",
		"select count(*) from test_types where score > 10",
		"select id from test_types where active", // another scan: active is a key column
	}
	var want [][]string
	for _, sql := range queries {
		rows, _ := collect(t, eng, sql)
		want = append(want, sortedRows(rows))
	}
	c := newCache(t, eng, query.ScanCacheOptions{})
	for _, sql := range queries {
		if err := c.Expect(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	testplugin.Calls.Reset()
	for i, sql := range queries {
		rows, _ := collect(t, eng, sql, query.WithScanCache(c))
		if got := sortedRows(rows); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s: rows %v, want %v", sql, got, want[i])
		}
	}
	calls := testplugin.Calls.ForTable("test_types")
	if len(calls) != 2 {
		t.Fatalf("test_types got %d calls, want 2: %v", len(calls), callSets("test_types"))
	}
	if cols := pluginColumns(calls[0]); !subsetOf([]string{"id", "name", "score"}, cols) {
		t.Errorf("the first scan asked for %v, want id, name and score at least", cols)
	}
	if q := qualSet(calls[0]); len(q) != 0 {
		t.Errorf("the first scan kept quals %v; want the account_id filter dropped", q)
	}
	if err := c.Expect(t.Context(), "select nope from test_types"); err == nil {
		t.Error("Expect accepted a query that does not plan")
	}
}

func subsetOf(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
