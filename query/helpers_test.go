package query_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// Known engine bugs. Each test that trips one skips with its message (see skipBug), so the
// suite stays green while the bug is open; fixing the bug means deleting the skip and
// watching the test pass.
const (
	// bugInListDuplicates: an IN list on a List key column is split by the SDK into one List
	// call per value; when the List does not filter on that column (test_types ignores name)
	// every call returns every row and the result holds each row once per IN value. This is
	// Steampipe's contract too: a plugin must honour the key columns it declares. Kept as a
	// skipped test so a change of policy (e.g. not pushing IN lists) is visible.
	bugInListDuplicates = "plugin contract: IN list on a List key column the list does not filter returns each row once per IN value (`name in ('item-1','item-5')` gives ids [1 1 5 5])"

	// bugEarlyCloseLeak: closing a scan early cancels the SDK's execution; getRow fails with
	// the cancellation, streamRows returns on errorChan and stops reading rowChan, and every
	// row goroutine already started blocks for ever on `rowChan <- row` (SDK
	// query_data.go:884). Between 0 and ~400 goroutines (with their rows) leak per
	// early-closed scan.
	bugEarlyCloseLeak = "SDK bug: early Close leaks SDK buildRowAsync goroutines blocked on rowChan (0-400 per closed scan of test_big)"

	// bugCloseLeak: Engine.Close closes DuckDB only; every plugin host keeps its SDK query
	// cache (~40 MB even at WithQueryCache(1)) and ~5 goroutines (bigcache/ristretto
	// janitors) alive for ever.
	// bugCacheEviction: with the cache on, a scan's own rows reach it through the SDK's
	// set-request subscriber, which reads back pages the scan already wrote to the cache.
	// When the cache has evicted (or dropped) such a page, getRowsToStream returns the read
	// error with the request's read lock still held (SDK query_cache/
	// set_request_subscriber.go:143), and the next addRow waits for the write lock for
	// ever: the scan hangs. A result larger than the cache is enough. The runner therefore
	// leaves the cache off unless configured.
	bugCacheEviction = "SDK bug: a cached scan whose result outgrows the query cache hangs for ever (read lock leaked in getRowsToStream)"

	bugCloseLeak = "SDK limitation: Engine.Close leaks ~40 MB of heap and ~5 goroutines per plugin host (the SDK query cache is never stopped)"
)

// skipBug skips a test that an open engine bug breaks. SPOUT_TEST_BUGS=1 runs it anyway, to
// check whether the bug is still there.
func skipBug(t *testing.T, bug string) {
	t.Helper()
	if os.Getenv("SPOUT_TEST_BUGS") == "" {
		t.Skip(bug)
	}
}

// typesRows is how many rows the shared engine's test_types has: enough for NULL names
// (7, 14), NULL tags (10, 20) and missing tag keys.
const typesRows int64 = 20

// Connections of the shared engine. Unqualified table names resolve to "test", the first.
const (
	bigRows     = 200_000 // big.test_big
	wideRows    = 400     // wide.test_types
	slowDelay   = 50 * time.Millisecond
	testAccount = "123456789012"
)

var (
	sharedOnce sync.Once
	shared     *query.Engine
	sharedErr  error
)

// engine returns the engine most tests share: one plugin, four connections.
func engine(t testing.TB) *query.Engine {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = query.New(context.Background(),
			query.WithPlugin("test", testplugin.Plugin),
			query.WithConnection("test", "test", fmt.Sprintf("rows = %d\naccount_id = %q", typesRows, testAccount)),
			query.WithConnection("big", "test", fmt.Sprintf("big_rows = %d", bigRows)),
			query.WithConnection("slow", "test", fmt.Sprintf("delay = %q", slowDelay.String())),
			query.WithConnection("wide", "test", fmt.Sprintf("rows = %d", wideRows)),
			query.WithLogger(quietLogger()),
		)
	})
	if sharedErr != nil {
		t.Fatalf("query.New: %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// quietLogger drops everything: plugins log every failing scan at WARN.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// newEngine builds a private engine of the test plugin and closes it when the test ends.
func newEngine(t testing.TB, opts ...query.Option) *query.Engine {
	t.Helper()
	opts = append([]query.Option{query.WithPlugin("test", testplugin.Plugin), query.WithLogger(quietLogger())}, opts...)
	eng, err := query.New(context.Background(), opts...)
	if err != nil {
		t.Fatalf("query.New: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// collect runs sql and reads every row's Values.
func collect(t testing.TB, eng *query.Engine, sql string, opts ...query.QueryOption) ([][]any, *query.Rows) {
	t.Helper()
	rows, err := eng.Query(t.Context(), sql, opts...)
	if err != nil {
		t.Fatalf("Query(%q): %v", sql, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("Values: %v", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("Query(%q): rows: %v", sql, err)
	}
	return out, rows
}

// queryErr runs sql to the end and returns the first error, from Query or from the rows.
func queryErr(t testing.TB, eng *query.Engine, sql string, opts ...query.QueryOption) (int, error) {
	t.Helper()
	return drain(t.Context(), eng, sql, opts...)
}

// drain is queryErr with the caller's context.
func drain(ctx context.Context, eng *query.Engine, sql string, opts ...query.QueryOption) (int, error) {
	rows, err := eng.Query(ctx, sql, opts...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// column returns column i of every row, sorted.
func column[T cmp.Ordered](t testing.TB, rows [][]any, i int) []T {
	t.Helper()
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, ok := r[i].(T)
		if !ok {
			t.Fatalf("row %v column %d is %T, want %T", r, i, r[i], *new(T))
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// typesRow is row i of test_types as Rows.Values returns it (see the testplugin doc).
type typesRow struct {
	ID        int64
	Name      any // string or nil
	Score     float64
	Active    bool
	CreatedAt time.Time
	Tags      any // map[string]any or nil
	Items     []any
	IP        string
	CIDR      string
	Inet      string
	Path      string
	AccountID string
}

func modelRow(i int64, account string) typesRow {
	r := typesRow{
		ID:        i,
		Score:     float64(i) * 1.5,
		Active:    i%2 == 0,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(i)),
		Items:     []any{map[string]any{"Effect": "Allow", "Action": "s3:GetObject"}},
		IP:        fmt.Sprintf("10.0.0.%d", i%256),
		CIDR:      fmt.Sprintf("10.%d.0.0/16", i%256),
		Inet:      fmt.Sprintf("192.168.%d.1/24", i%256),
		Path:      fmt.Sprintf("root.group%d.item%d", i%3, i),
		AccountID: account,
	}
	if i%7 != 0 {
		r.Name = fmt.Sprintf("item-%d", i)
	}
	if i%10 != 0 {
		tags := map[string]any{"environment": "dev"}
		if i%2 == 0 {
			tags["environment"] = "prod"
		}
		if i%3 != 0 {
			tags["department"] = "eng"
		}
		r.Tags = tags
	}
	if i%2 == 0 {
		r.Items = append(r.Items, map[string]any{"Effect": "Deny", "Action": "s3:PutObject"})
	}
	return r
}

// model is the shared connection's test_types.
func model() []typesRow {
	out := make([]typesRow, 0, typesRows)
	for i := int64(1); i <= typesRows; i++ {
		out = append(out, modelRow(i, testAccount))
	}
	return out
}

// ids lists the model rows keep accepts.
func ids(keep func(r typesRow) bool) []int64 {
	var out []int64
	for _, r := range model() {
		if keep(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

// pluginColumns drops the columns the SDK adds on its own from a call's column list.
func pluginColumns(c testplugin.Call) []string {
	var out []string
	for _, col := range c.Columns {
		if col != "_ctx" && col != "sp_ctx" && col != "sp_connection_name" {
			out = append(out, col)
		}
	}
	slices.Sort(out)
	return out
}

// qualSet is a call's quals in a comparable form: one "col op value" string per qual, sorted.
func qualSet(c testplugin.Call) []string {
	var out []string
	for col, qs := range c.Quals {
		for _, q := range qs {
			out = append(out, formatQual(col, q))
		}
	}
	slices.Sort(out)
	return out
}

func formatQual(col string, q testplugin.Qual) string {
	switch v := q.Value.(type) {
	case nil:
		return col + " " + q.Operator
	case time.Time:
		return col + " " + q.Operator + " " + v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprintf("%s %s %v", col, q.Operator, v)
	}
}

// callSets is every recorded call of table as "fetch [quals]" strings, sorted, so calls
// the SDK makes concurrently (one per IN value) compare in any order.
func callSets(table string) []string {
	var out []string
	for _, c := range testplugin.Calls.ForTable(table) {
		out = append(out, fmt.Sprintf("%s %v", c.Fetch, qualSet(c)))
	}
	slices.Sort(out)
	return out
}

// jsonEqual compares two values after a round trip through JSON, so map[string]any from the
// engine and from the model compare by content.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}
