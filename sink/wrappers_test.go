package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpoolRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 22, 6, 1, 2, 345678901, time.FixedZone("CET", 3600))
	batches := [][]Row{
		{{nil, "héllo ✓", int64(-42), 3.25, true, false, when, json.RawMessage(`{"a":[1,2]}`), []byte{0, 1}}},
		{{int64(math.MaxInt64), math.Inf(-1), ""}, {}},
	}
	sp, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for _, b := range batches {
		if err := sp.append(b); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // replay is repeatable
		var got [][]Row
		if err := sp.replay(func(rows []Row) error { got = append(got, rows); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(batches) {
			t.Fatalf("replayed %d batches, want %d", len(got), len(batches))
		}
		for i := range got {
			for j := range got[i] {
				for k := range got[i][j] {
					g, w := got[i][j][k], batches[i][j][k]
					if gt, ok := g.(time.Time); ok {
						if !gt.Equal(w.(time.Time)) {
							t.Errorf("time: got %v, want %v", gt, w)
						}
						continue
					}
					if !reflect.DeepEqual(g, w) {
						t.Errorf("batch %d row %d value %d: got %#v, want %#v", i, j, k, g, w)
					}
				}
			}
		}
	}
	// Appending after a replay goes on at the end.
	if err := sp.append([]Row{{"last"}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	sp.replay(func(rows []Row) error { n++; return nil })
	if n != 3 {
		t.Errorf("after append: %d batches, want 3", n)
	}
	if err := sp.append([]Row{{struct{}{}}}); err == nil {
		t.Error("spooling an unsupported type: no error")
	}
}

func TestBatchBoundsRowsAndBytes(t *testing.T) {
	tests := []struct {
		name   string
		policy BatchPolicy
		writes []int
		want   []int
	}{
		{"rows", BatchPolicy{Rows: 3}, []int{1, 7, 2}, []int{3, 3, 3, 1}},
		{"one big write", BatchPolicy{Rows: 4}, []int{10}, []int{4, 4, 2}},
		// Each row is about 2 + 2*4 + 8 + 5 = 23 bytes; 50 bytes hold 3 rows.
		{"bytes", BatchPolicy{Rows: 100, Bytes: 50}, []int{5, 5}, []int{3, 3, 3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memSink{name: "m"}
			w, err := Batch(m, tt.policy).Open(t.Context(), testInfo)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range tt.writes {
				rows := testRows(n)
				for i := range rows {
					rows[i][0] = int64(total + i)
				}
				total += n
				if err := w.Write(t.Context(), rows); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.batches, tt.want) {
				t.Errorf("batches %v, want %v", m.batches, tt.want)
			}
			got := m.results()[0]
			for i, row := range got {
				if row[0] != int64(i) {
					t.Fatalf("row %d is %v: order lost", i, row[0])
				}
			}
		})
	}
}

// A whole-result sink that fails midway gets the whole result replayed into a fresh
// writer, and commits it exactly once.
func TestRetryReplaysWholeResult(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(op string, opens, writes int) error
		wantOpens int
	}{
		{"write fails once", func(op string, opens, writes int) error {
			if op == "write" && opens == 1 && writes == 3 {
				return errors.New("connection reset")
			}
			return nil
		}, 2},
		{"commit fails twice", func(op string, opens, writes int) error {
			if op == "commit" && opens <= 2 {
				return errors.New("connection reset")
			}
			return nil
		}, 3},
		{"open and replay fail", func(op string, opens, writes int) error {
			switch {
			case op == "write" && opens == 1 && writes == 2:
				return errors.New("boom")
			case op == "open" && opens == 2:
				return errors.New("refused")
			case op == "write" && opens == 3 && writes == 1:
				return errors.New("boom again")
			}
			return nil
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memSink{name: "m", fail: tt.fail}
			w, err := Retry(m, fastRetry()).Open(t.Context(), testInfo)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				rows := testRows(10)
				for j := range rows {
					rows[j][0] = int64(i*10 + j)
				}
				if err := w.Write(t.Context(), rows); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			if err := w.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			res := m.results()
			if len(res) != 1 {
				t.Fatalf("%d results committed, want 1", len(res))
			}
			if len(res[0]) != 50 {
				t.Fatalf("%d rows committed, want 50", len(res[0]))
			}
			for i, row := range res[0] {
				if row[0] != int64(i) || row[1] != testRows(10)[i%10][1] {
					t.Fatalf("row %d = %v", i, row)
				}
			}
			if m.opens != tt.wantOpens {
				t.Errorf("%d opens, want %d", m.opens, tt.wantOpens)
			}
			if m.aborts != tt.wantOpens-1-countOpenFailures(tt.name) {
				t.Errorf("%d aborts, want every failed writer aborted", m.aborts)
			}
		})
	}
}

func countOpenFailures(name string) int {
	if name == "open and replay fail" {
		return 1
	}
	return 0
}

func TestRetryGivesUp(t *testing.T) {
	t.Run("permanent error is not retried", func(t *testing.T) {
		m := &memSink{name: "m", fail: func(op string, opens, writes int) error {
			if op == "write" {
				return Permanent(errors.New("bad value"))
			}
			return nil
		}}
		w, _ := Retry(m, fastRetry()).Open(t.Context(), testInfo)
		err := w.Write(t.Context(), testRows(1))
		if err == nil || !IsPermanent(err) {
			t.Fatalf("got %v, want the permanent error", err)
		}
		if m.opens != 1 {
			t.Errorf("%d opens, want 1", m.opens)
		}
		if err := w.Commit(t.Context()); err == nil {
			t.Error("commit after a failed write succeeded")
		}
	})
	t.Run("after attempts", func(t *testing.T) {
		m := &memSink{name: "m", fail: func(op string, opens, writes int) error {
			if op == "commit" {
				return errors.New("down")
			}
			return nil
		}}
		w, _ := Retry(m, fastRetry()).Open(t.Context(), testInfo)
		w.Write(t.Context(), testRows(3))
		err := w.Commit(t.Context())
		if err == nil || !strings.Contains(err.Error(), "gave up after 5 attempts") {
			t.Fatalf("got %v", err)
		}
		if m.opens != 5 || len(m.results()) != 0 {
			t.Errorf("%d opens, %d results", m.opens, len(m.results()))
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	m := &memSink{name: "m", fail: func(op string, opens, writes int) error {
		if op == "write" && opens == 1 {
			return RetryAfter(errors.New("429"), 200*time.Millisecond)
		}
		return nil
	}}
	w, _ := Retry(m, fastRetry()).Open(t.Context(), testInfo)
	start := time.Now()
	if err := w.Write(t.Context(), testRows(1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("retried after %s, want at least the 200ms Retry-After", d)
	}
	// A Retry-After beyond the deadline fails at once rather than sleep into it.
	m = &memSink{name: "m", fail: func(op string, opens, writes int) error {
		return RetryAfter(errors.New("429"), time.Hour)
	}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := Retry(m, fastRetry()).Open(ctx, testInfo); err == nil || !strings.Contains(err.Error(), "no time left") {
		t.Fatalf("got %v", err)
	}
}

func TestRetryPerBatch(t *testing.T) {
	m := &memSink{name: "m", batchy: true, fail: func(op string, opens, writes int) error {
		if op == "write" && writes <= 3 {
			return errors.New("503")
		}
		return nil
	}}
	w, _ := Retry(m, fastRetry()).Open(t.Context(), testInfo)
	if err := w.Write(t.Context(), testRows(4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if m.opens != 1 {
		t.Errorf("%d opens, want 1: a batch retrier is not reopened", m.opens)
	}
	if len(m.results()) != 1 || len(m.results()[0]) != 4 {
		t.Errorf("results %v", m.results())
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	s := &retrySink{p: RetryPolicy{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 20 {
			if d := s.backoff(attempt); d < want/2 || d > want {
				t.Errorf("attempt %d: backoff %s outside [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func TestTimeoutBoundsTheResult(t *testing.T) {
	s := Timeout(&slowSink{memSink{name: "slow"}}, 50*time.Millisecond)
	w, err := s.Open(t.Context(), testInfo)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = w.Write(t.Context(), testRows(1))
	if err == nil || !strings.Contains(err.Error(), `sink "slow": delivery timed out after 50ms`) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
	// The caller's own cancellation is not reported as our timeout.
	w, _ = Timeout(&slowSink{memSink{name: "slow"}}, time.Hour).Open(t.Context(), testInfo)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.Write(ctx, testRows(1)); err == nil || strings.Contains(err.Error(), "timed out") {
		t.Errorf("got %v", err)
	}
}

func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	down := &memSink{name: "hook", fail: func(op string, opens, writes int) error {
		if op == "write" && writes >= 2 {
			return errors.New("receiver is down")
		}
		return nil
	}}
	s := Wrap(down, Options{Batch: BatchPolicy{Rows: 10}, Retry: fastRetry(), DeadLetter: DirStore(dir)})
	w, err := s.Open(t.Context(), testInfo)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := w.Write(t.Context(), testRows(7)); err != nil {
			t.Fatalf("write after the sink failed: %v (the dead letter should take the rows)", err)
		}
	}
	err = w.Commit(t.Context())
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("commit: got %v, want a *DeliveryError", err)
	}
	if de.Sink != "hook" || !strings.Contains(de.Error(), "receiver is down") || de.DeadLetterErr != nil {
		t.Fatalf("delivery error %+v", de)
	}
	want := filepath.Join(dir, "q", "run-1-hook-aws.ndjson")
	if de.DeadLetter != want {
		t.Errorf("dead letter at %q, want %q", de.DeadLetter, want)
	}
	f, err := os.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	var head struct {
		DeadLetter struct {
			Sink, Query, Error string
			RunID              string `json:"run_id"`
			Rows               int
			Columns            []map[string]string
		} `json:"dead_letter"`
	}
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
		t.Fatal(err)
	}
	h := head.DeadLetter
	if h.Sink != "hook" || h.Query != "q" || h.RunID != "run-1" || h.Rows != 35 ||
		!strings.Contains(h.Error, "receiver is down") || len(h.Columns) != 2 {
		t.Errorf("header %+v", h)
	}
	n := 0
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if row["id"] != float64(n%7) || row["name"] != testRows(7)[n%7][1] {
			t.Fatalf("line %d: %v", n+2, row)
		}
		n++
	}
	if n != 35 {
		t.Errorf("%d rows dead-lettered, want all 35", n)
	}
	if len(down.results()) != 0 {
		t.Error("failed sink committed something")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "q", ".dead-letter-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestDeadLetterOnlyOnFailure(t *testing.T) {
	dir := t.TempDir()
	m := &memSink{name: "ok"}
	s := Wrap(m, Options{Retry: fastRetry(), DeadLetter: DirStore(dir)})
	w, _ := s.Open(t.Context(), testInfo)
	w.Write(t.Context(), testRows(3))
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	// An aborted result is the caller's decision, not a delivery failure.
	m.fail = func(op string, opens, writes int) error { return errors.New("down") }
	w, _ = s.Open(t.Context(), testInfo)
	w.Write(t.Context(), testRows(3))
	if err := w.Abort(t.Context()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("dead letters written: %v", entries)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "ünïcødé ✓ 🎉", "<a&b>", "bad \xff utf8", "\u2028"} {
		b := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes as invalid JSON %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("%q round-trips as %q", s, got)
		}
	}
	row := AppendJSONRow(nil, []Column{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}, {Name: "f"}},
		Row{math.NaN(), json.RawMessage(`{"x": 1}`), json.RawMessage(`not json`), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil, 1.5})
	want := `{"a":null,"b":{"x": 1},"c":"not json","d":"2026-01-02T03:04:05Z","e":null,"f":1.5}`
	if string(row) != want {
		t.Errorf("got  %s\nwant %s", row, want)
	}
}

// Misuse is an error, never a panic.
func TestWritersRefuseUseAfterCommit(t *testing.T) {
	s := Wrap(&memSink{name: "m"}, Options{Retry: fastRetry(), DeadLetter: DirStore(t.TempDir())})
	w, _ := s.Open(t.Context(), testInfo)
	w.Write(t.Context(), testRows(2))
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(t.Context(), testRows(1)); err == nil {
		t.Error("write after commit: no error")
	}
	if err := w.Commit(t.Context()); err == nil {
		t.Error("second commit: no error")
	}
	if err := w.Abort(t.Context()); err != nil {
		t.Errorf("abort after commit: %v", err)
	}
	r, _ := Retry(&memSink{name: "m"}, fastRetry()).Open(t.Context(), testInfo)
	r.Commit(t.Context())
	if err := r.Commit(t.Context()); err == nil {
		t.Error("retry writer: second commit: no error")
	}
}
