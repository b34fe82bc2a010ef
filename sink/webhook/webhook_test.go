package webhook

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/sink"
)

// receiver is a webhook endpoint that records requests, deduplicates them by
// Idempotency-Key and fails as told.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []request
	byKey    map[string]request                                       // first successful delivery of each key
	respond  func(n int, r *request) (status int, header http.Header) // n counts requests from 1
}

type request struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newReceiver(t *testing.T, respond func(n int, r *request) (int, http.Header)) *receiver {
	rc := &receiver{t: t, byKey: map[string]request{}, respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{header: r.Header.Clone(), body: body, at: time.Now()}
		rc.mu.Lock()
		rc.requests = append(rc.requests, req)
		status, h := http.StatusOK, http.Header(nil)
		if rc.respond != nil {
			status, h = rc.respond(len(rc.requests), &req)
		}
		key := r.Header.Get("Idempotency-Key")
		if status < 300 || h.Get("X-Test-Processed") != "" {
			if prev, dup := rc.byKey[key]; dup {
				// A repeated key must be a repeat of the same batch.
				if string(prev.body) != string(body) {
					t.Errorf("key %s delivered with two different bodies", key)
				}
			} else {
				rc.byKey[key] = req
			}
		}
		rc.mu.Unlock()
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// rows returns the rows the receiver accepted, deduplicated by key, in sequence order.
func (rc *receiver) rows() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	keys := make([]string, 0, len(rc.byKey))
	for k := range rc.byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return seqOf(rc.byKey[a]) - seqOf(rc.byKey[b]) })
	var out []map[string]any
	for _, k := range keys {
		var env struct{ Rows []map[string]any }
		if err := json.Unmarshal(rc.byKey[k].body, &env); err != nil {
			rc.t.Fatalf("body %s: %v", rc.byKey[k].body, err)
		}
		out = append(out, env.Rows...)
	}
	return out
}

func seqOf(r request) int {
	var n int
	fmt.Sscan(r.header.Get("X-Spout-Sequence"), &n)
	return n
}

var info = sink.ResultInfo{
	Query: "findings", RunID: "run-1", Connection: "aws",
	CollectedAt: time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC),
	Columns:     []sink.Column{{Name: "id", Type: sink.TypeBigint}, {Name: "detail", Type: sink.TypeJSONB}},
}

func numbered(n int) []sink.Row {
	rows := make([]sink.Row, n)
	for i := range rows {
		rows[i] = sink.Row{int64(i), json.RawMessage(fmt.Sprintf(`{"n":"%d ✓"}`, i))}
	}
	return rows
}

// deliver sends rows through the wrapped sink, in writes of 7 rows.
func deliver(t *testing.T, s sink.Sink, rows []sink.Row) error {
	t.Helper()
	ctx := context.Background()
	w, err := s.Open(ctx, info)
	if err != nil {
		return err
	}
	for len(rows) > 0 {
		n := min(7, len(rows))
		if err := w.Write(ctx, rows[:n]); err != nil {
			w.Abort(ctx)
			return err
		}
		rows = rows[n:]
	}
	if err := w.Commit(ctx); err != nil {
		w.Abort(ctx)
		return err
	}
	return nil
}

func wrap(t *testing.T, cfg Config, o sink.Options) sink.Sink {
	t.Helper()
	s, err := New("hook", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.Retry.Backoff == 0 {
		o.Retry.Backoff, o.Retry.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	return sink.Wrap(s, o)
}

func checkAllRows(t *testing.T, got []map[string]any, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("receiver has %d rows, want %d", len(got), n)
	}
	for i, r := range got {
		if r["id"] != float64(i) || r["detail"].(map[string]any)["n"] != fmt.Sprintf("%d ✓", i) {
			t.Fatalf("row %d is %v", i, r)
		}
	}
}

func TestBatchesKeysFinalAndSignature(t *testing.T) {
	t.Setenv("HOOK_SECRET", "s3cret")
	t.Setenv("HOOK_TOKEN", "tok")
	rc := newReceiver(t, nil)
	s := wrap(t, Config{
		URL:       rc.srv.URL + "/in",
		SecretEnv: "HOOK_SECRET",
		Headers:   map[string]string{"Authorization": "Bearer ${HOOK_TOKEN}"},
	}, sink.Options{Batch: sink.BatchPolicy{Rows: 10}})
	if err := deliver(t, s, numbered(25)); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 3 {
		t.Fatalf("%d requests, want 3", len(rc.requests))
	}
	for i, r := range rc.requests {
		var env struct {
			Query, RunID, Connection string
			Sequence                 int
			Final                    bool
			Columns                  []map[string]string
			Rows                     []map[string]any
		}
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatal(err)
		}
		wantRows, wantFinal := 10, false
		if i == 2 {
			wantRows, wantFinal = 5, true
		}
		if len(env.Rows) != wantRows || env.Final != wantFinal || env.Sequence != i || env.Query != "findings" || len(env.Columns) != 2 {
			t.Errorf("batch %d: %d rows, final %v, sequence %d, query %q", i, len(env.Rows), env.Final, env.Sequence, env.Query)
		}
		h := r.header
		if got, want := h.Get("Idempotency-Key"), fmt.Sprintf("run-1:findings:%d", i); got != want {
			t.Errorf("batch %d: key %q, want %q", i, got, want)
		}
		if h.Get("X-Spout-Final") != fmt.Sprint(wantFinal) || h.Get("X-Spout-Sequence") != fmt.Sprint(i) {
			t.Errorf("batch %d: headers %v", i, h)
		}
		if h.Get("Authorization") != "Bearer tok" || h.Get("Content-Type") != "application/json" {
			t.Errorf("batch %d: headers %v", i, h)
		}
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(r.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Spout-Signature") != want {
			t.Errorf("batch %d: signature %q, want %q", i, h.Get("X-Spout-Signature"), want)
		}
	}
	checkAllRows(t, rc.rows(), 25)
}

func TestBatchBytes(t *testing.T) {
	rc := newReceiver(t, nil)
	s := wrap(t, Config{URL: rc.srv.URL}, sink.Options{Batch: sink.BatchPolicy{Rows: 1000, Bytes: 1000}})
	if err := deliver(t, s, numbered(100)); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) < 3 {
		t.Fatalf("%d requests: the byte bound did not split the result", len(rc.requests))
	}
	for _, r := range rc.requests {
		if len(r.body) > 2000 {
			t.Errorf("a %d-byte body for a 1000-byte batch bound", len(r.body))
		}
	}
	checkAllRows(t, rc.rows(), 100)
}

// A receiver that fails three times, once after having processed the request, still
// ends up with every row exactly once.
func TestFlakyReceiverGetsEveryRowOnce(t *testing.T) {
	rc := newReceiver(t, func(n int, r *request) (int, http.Header) {
		switch n {
		case 1, 4:
			return http.StatusServiceUnavailable, nil
		case 2:
			return http.StatusBadGateway, nil
		case 3:
			// Processed, but the response is lost: the retry repeats the key.
			return http.StatusInternalServerError, http.Header{"X-Test-Processed": {"1"}}
		}
		return http.StatusOK, nil
	})
	s := wrap(t, Config{URL: rc.srv.URL}, sink.Options{Batch: sink.BatchPolicy{Rows: 10}})
	if err := deliver(t, s, numbered(30)); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 3+4 {
		t.Errorf("%d requests, want 7: 3 batches and 4 retries", len(rc.requests))
	}
	checkAllRows(t, rc.rows(), 30)
}

func TestRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(n int, r *request) (int, http.Header) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, nil
	})
	s := wrap(t, Config{URL: rc.srv.URL}, sink.Options{})
	if err := deliver(t, s, numbered(3)); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 2 {
		t.Fatalf("%d requests", len(rc.requests))
	}
	if gap := rc.requests[1].at.Sub(rc.requests[0].at); gap < time.Second {
		t.Errorf("retried after %s, want Retry-After's 1s", gap)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{"3": 3 * time.Second, "Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second, "Wed, 31 Dec 2025 00:00:00 GMT": 0} {
		if d, ok := retryAfter(h, now); !ok || d != want {
			t.Errorf("Retry-After %q: %s, %v", h, d, ok)
		}
	}
	if _, ok := retryAfter("soon", now); ok {
		t.Error("Retry-After: soon parsed")
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, r *request) (int, http.Header) { return http.StatusBadRequest, nil })
	s := wrap(t, Config{URL: rc.srv.URL + "/secret-path"}, sink.Options{})
	err := deliver(t, s, numbered(3))
	if err == nil || !sink.IsPermanent(err) || !strings.Contains(err.Error(), `webhook sink "hook": POST `+rc.srv.URL+"/… batch 0: 400 Bad Request") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "secret-path") {
		t.Errorf("error shows the URL path: %v", err)
	}
	if len(rc.requests) != 1 {
		t.Errorf("%d requests, want 1", len(rc.requests))
	}
}

// A receiver that never succeeds: the result goes to the dead letter, whole, with the
// error, and the sink reports failure.
func TestDeadReceiverDeadLetters(t *testing.T) {
	rc := newReceiver(t, func(n int, r *request) (int, http.Header) { return http.StatusInternalServerError, nil })
	dir := t.TempDir()
	s := wrap(t, Config{URL: rc.srv.URL}, sink.Options{
		Batch:      sink.BatchPolicy{Rows: 10},
		Retry:      sink.RetryPolicy{Attempts: 3},
		DeadLetter: sink.DirStore(dir),
	})
	err := deliver(t, s, numbered(42))
	var de *sink.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *sink.DeliveryError", err)
	}
	if !strings.Contains(de.Err.Error(), "500 Internal Server Error") || !strings.Contains(de.Err.Error(), "gave up after 3 attempts") {
		t.Errorf("error %v", de.Err)
	}
	if len(rc.requests) != 3 {
		t.Errorf("%d requests, want 3 tries of the first batch", len(rc.requests))
	}
	f, err := os.Open(filepath.Join(dir, "findings", "run-1-hook-aws.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if !strings.Contains(sc.Text(), `"error":"webhook sink \"hook\": POST`) || !strings.Contains(sc.Text(), `"rows":42`) {
		t.Errorf("header line %s", sc.Text())
	}
	var got []map[string]any
	for sc.Scan() {
		var m map[string]any
		json.Unmarshal(sc.Bytes(), &m)
		got = append(got, m)
	}
	checkAllRows(t, got, 42)
}

func TestEmptyResult(t *testing.T) {
	rc := newReceiver(t, nil)
	if err := deliver(t, wrap(t, Config{URL: rc.srv.URL}, sink.Options{}), nil); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 1 || rc.requests[0].header.Get("X-Spout-Final") != "true" || !strings.Contains(string(rc.requests[0].body), `"final":true,"columns":[{"name":"id","type":"bigint"},{"name":"detail","type":"jsonb"}],"rows":[]}`) {
		t.Errorf("requests %v", rc.requests)
	}
	rc2 := newReceiver(t, nil)
	if err := deliver(t, wrap(t, Config{URL: rc2.srv.URL, SkipEmpty: true}, sink.Options{}), nil); err != nil {
		t.Fatal(err)
	}
	if len(rc2.requests) != 0 {
		t.Errorf("skip_empty sent %d requests", len(rc2.requests))
	}
}

func TestNDJSON(t *testing.T) {
	rc := newReceiver(t, nil)
	if err := deliver(t, wrap(t, Config{URL: rc.srv.URL, Format: NDJSON}, sink.Options{}), numbered(2)); err != nil {
		t.Fatal(err)
	}
	r := rc.requests[0]
	want := "{\"id\":0,\"detail\":{\"n\":\"0 ✓\"}}\n{\"id\":1,\"detail\":{\"n\":\"1 ✓\"}}\n"
	if string(r.body) != want || r.header.Get("Content-Type") != "application/x-ndjson" || r.header.Get("X-Spout-Final") != "true" {
		t.Errorf("got %q %v", r.body, r.header)
	}
}

func TestSlackTemplate(t *testing.T) {
	rc := newReceiver(t, nil)
	tmpl := `{"text": {{printf "%d findings in %s" (len .Rows) .Query | json}}, "blocks": [{{range $i, $r := .Rows}}{{if $i}},{{end}}{"type":"section","text":{"type":"mrkdwn","text":{{printf "*%v*: %v" $r.id (index $r.detail "n") | json}}}}{{end}}]}`
	if err := deliver(t, wrap(t, Config{URL: rc.srv.URL, Template: tmpl}, sink.Options{}), numbered(2)); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Text   string
		Blocks []struct{ Text struct{ Text string } }
	}
	if err := json.Unmarshal(rc.requests[0].body, &msg); err != nil {
		t.Fatalf("%s: %v", rc.requests[0].body, err)
	}
	if msg.Text != "2 findings in findings" || len(msg.Blocks) != 2 || msg.Blocks[1].Text.Text != "*1*: 1 ✓" {
		t.Errorf("message %s", rc.requests[0].body)
	}
}

func TestBadInput(t *testing.T) {
	t.Setenv("HOOK_URL", "https://hooks.example.com/T000/B000/XXXX")
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, `url: required`},
		{Config{URL: "hooks.example.com/x"}, `url: not an http(s) URL`},
		{Config{URL: "${HOOK_URL_UNSET}"}, `url: environment variable HOOK_URL_UNSET is not set`},
		{Config{URL: "${HOOK_URL}", Format: "xml"}, `format: unknown format "xml"`},
		{Config{URL: "${HOOK_URL}", Headers: map[string]string{"Authorization": "${NOPE}"}}, `headers: Authorization: environment variable NOPE is not set`},
		{Config{URL: "${HOOK_URL}", Headers: map[string]string{"Bad Name": "x"}}, `headers: invalid header name "Bad Name"`},
		{Config{URL: "${HOOK_URL}", SecretEnv: "NOPE"}, `secret_env: environment variable NOPE is not set`},
		{Config{URL: "${HOOK_URL}", Template: "{{.Rows"}, `template: bad template`},
		{Config{URL: "${HOOK_URL}", Template: "{{.Nope}}"}, `template: template: body:1:2: executing "body" at <.Nope>`},
	}
	for _, tt := range tests {
		_, err := New("hook", tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v:\ngot  %v\nwant %s", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "XXXX") {
			t.Errorf("error shows the secret URL: %v", err)
		}
	}

	s, err := New("hook", Config{URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	err = deliver(t, s, numbered(1))
	if err == nil || !strings.Contains(err.Error(), `webhook sink "hook": POST http://127.0.0.1:1/… batch 0: dial tcp`) || sink.IsPermanent(err) {
		t.Errorf("unreachable host: %v", err)
	}
}

func TestShardedResultNamesItsShard(t *testing.T) {
	rc := newReceiver(t, nil)
	s := wrap(t, Config{URL: rc.srv.URL}, sink.Options{})
	in := info
	in.RunID, in.Shard = "run-2", sink.Shard{Index: 2, Count: 4}
	ctx := context.Background()
	w, err := s.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, numbered(2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 1 || rc.requests[0].header.Get("X-Spout-Shard") != "2/4" ||
		!strings.Contains(string(rc.requests[0].body), `"connection":"aws","shard":"2/4","collected_at"`) {
		t.Errorf("requests %v", rc.requests)
	}
	// Unsharded results say nothing of shards.
	if err := deliver(t, s, numbered(1)); err != nil {
		t.Fatal(err)
	}
	if r := rc.requests[len(rc.requests)-1]; r.header.Get("X-Spout-Shard") != "" || strings.Contains(string(r.body), `"shard"`) {
		t.Errorf("unsharded request %v", r)
	}
}
