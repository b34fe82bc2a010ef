// Package webhook POSTs query results to an HTTP endpoint in batches.
//
// Each batch is one request, JSON (an envelope with the result's metadata and a rows
// array) or NDJSON (one row per line, metadata in headers), or a body made by a Go
// text/template, so that a result can go to a Slack or Teams incoming webhook as a
// readable message. Every request carries:
//
//   - Idempotency-Key: <run id>:<query>:<sequence>, the same on every retry of a batch;
//   - X-Spout-Sequence (0, 1, ...) and X-Spout-Final (true on the last batch only; the
//     result is complete when the final batch arrives, and a result that is aborted
//     never sends one), X-Spout-Query, X-Spout-Run-Id, X-Spout-Connection, and in a
//     sharded run X-Spout-Shard ("2/4", also the body's "shard");
//   - with secret_env set, X-Spout-Signature: sha256=<hex HMAC-SHA256 of the body>;
//   - the configured headers.
//
// A failed request is retried (by sink.Retry) on network errors, 408, 429 and 5xx
// only, honouring Retry-After; any other status is final. The receiver deduplicates on
// Idempotency-Key.
//
// Secrets come from the environment: ${VAR} in url and in header values is expanded
// here, at construction, from the process environment (an unset variable is an
// error), and the signing key is read from the variable named by secret_env. A
// runner that expands ${VAR} in the whole file first is harmless: nothing is left to
// expand.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spoutdev/spout/sink"
)

func init() { sink.Register("webhook", sink.FactoryOf(New)) }

// Formats.
const (
	JSON   = "json"
	NDJSON = "ndjson"
)

// Default settings.
const (
	DefaultSignatureHeader = "X-Spout-Signature"
	DefaultRequestTimeout  = 30 * time.Second
	// maxRetryAfter caps a receiver's Retry-After, so that it cannot park a run for
	// hours when no sink timeout is configured.
	maxRetryAfter = 10 * time.Minute
)

// Config is a webhook sink's options in spout.yaml.
type Config struct {
	// URL is where batches are POSTed; ${VAR} is expanded from the environment (chat
	// webhook URLs are secrets). Required.
	URL string `yaml:"url" doc:"Where batches are POSTed (http or https); ${VAR} is expanded from the environment, as chat webhook URLs are secrets. Required."`
	// Format is json (default) or ndjson. Ignored when Template is set.
	Format string `yaml:"format" doc:"json (default: an envelope with the result's metadata and a rows array) or ndjson (one row per line, metadata in headers). Ignored when template is set."`
	// Headers are added to every request; ${VAR} in values is expanded from the
	// environment, e.g. Authorization: "Bearer ${ALERTS_TOKEN}".
	Headers map[string]string `yaml:"headers" doc:"Headers added to every request; ${VAR} in values is expanded from the environment, e.g. Authorization: \"Bearer ${TOKEN}\"."`
	// SecretEnv names the environment variable holding the HMAC-SHA256 signing key.
	SecretEnv string `yaml:"secret_env" doc:"The environment variable holding the HMAC-SHA256 key that signs each body (sha256=<hex> in signature_header)."`
	// SignatureHeader carries the signature; default X-Spout-Signature.
	SignatureHeader string `yaml:"signature_header" doc:"The header carrying the signature; default X-Spout-Signature."`
	// Template is a text/template for the request body over TemplateData, e.g. for
	// Slack: {"text": {{printf "%d new findings" (len .Rows) | json}}}.
	Template string `yaml:"template" doc:"A text/template for the request body over one batch (.Query, .RunID, .Rows, .Columns, .Sequence, .Final, ...), e.g. a Slack message."`
	// ContentType defaults to application/json, or application/x-ndjson for ndjson.
	ContentType string `yaml:"content_type" doc:"The Content-Type of requests; default application/json, or application/x-ndjson for ndjson."`
	// RequestTimeout bounds each request; default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout" doc:"How long one request may take, e.g. 10s; default 30s."`
	// SkipEmpty sends nothing for a result without rows, instead of one empty final
	// batch.
	SkipEmpty bool `yaml:"skip_empty" doc:"Send nothing for a result without rows, instead of one empty final batch."`
}

// TemplateData is what a body template sees: one batch.
type TemplateData struct {
	Query       string
	RunID       string
	Connection  string
	Sink        string
	CollectedAt time.Time
	Columns     []sink.Column
	// Rows are maps from column name to value; jsonb values are decoded, so
	// {{index .tags "env"}} works.
	Rows     []map[string]any
	Sequence int
	Final    bool
}

// Sink is a webhook sink.
type Sink struct {
	name     string
	cfg      Config
	url      string // expanded
	target   string // scheme://host only: the rest may be a secret
	headers  http.Header
	secret   []byte
	template *template.Template
	client   *http.Client
}

// New checks cfg, expands its ${VAR}s from the environment and returns the sink. It
// is registered as sink type "webhook".
func New(name string, cfg Config) (*Sink, error) {
	fail := func(field string, err error) (*Sink, error) {
		return nil, &sink.FieldError{Field: field, Err: err}
	}
	s := &Sink{name: name, cfg: cfg, headers: http.Header{}}

	if cfg.URL == "" {
		return fail("url", errors.New("required"))
	}
	raw, err := expand(cfg.URL)
	if err != nil {
		return fail("url", err)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoting it: it may hold a secret.
		return fail("url", errors.New("not an http(s) URL"))
	}
	s.url, s.target = raw, u.Scheme+"://"+u.Host

	switch cfg.Format {
	case "":
		s.cfg.Format = JSON
	case JSON, NDJSON:
	default:
		return fail("format", fmt.Errorf("unknown format %q (want json or ndjson)", cfg.Format))
	}
	if s.cfg.ContentType == "" {
		s.cfg.ContentType = "application/json"
		if s.cfg.Format == NDJSON && cfg.Template == "" {
			s.cfg.ContentType = "application/x-ndjson"
		}
	}
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			return fail("headers", fmt.Errorf("invalid header name %q", k))
		}
		ev, err := expand(v)
		if err != nil {
			return fail("headers", fmt.Errorf("%s: %w", k, err))
		}
		if strings.ContainsAny(ev, "\r\n") {
			return fail("headers", fmt.Errorf("%s: value contains a line break", k))
		}
		s.headers.Set(k, ev)
	}
	if cfg.SecretEnv != "" {
		secret, ok := os.LookupEnv(cfg.SecretEnv)
		if !ok || secret == "" {
			return fail("secret_env", fmt.Errorf("environment variable %s is not set", cfg.SecretEnv))
		}
		s.secret = []byte(secret)
	}
	if s.cfg.SignatureHeader == "" {
		s.cfg.SignatureHeader = DefaultSignatureHeader
	}
	if cfg.Template != "" {
		t, err := template.New("body").Funcs(template.FuncMap{"json": toJSON}).Parse(cfg.Template)
		if err != nil {
			return fail("template", fmt.Errorf("bad template: %w", err))
		}
		// Try it on an empty batch now, so a misspelt field fails at startup. (Row
		// fields cannot be checked without the query's columns.)
		sample := TemplateData{Query: "q", RunID: "r", Rows: []map[string]any{}, Final: true}
		if err := t.Execute(io.Discard, sample); err != nil {
			return fail("template", err)
		}
		s.template = t
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = DefaultRequestTimeout
	}
	s.client = &http.Client{
		Timeout: s.cfg.RequestTimeout,
		// A redirected POST would become a GET, or carry the body and signature to
		// another host. Report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${VAR} with the variable's value; an unset variable is an error.
func expand(s string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Name implements sink.Sink.
func (s *Sink) Name() string { return s.name }

// Close implements sink.Sink.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Open implements sink.Sink. Nothing is sent until the second batch, or Commit: each
// batch is held back until the next one shows it was not the last.
func (s *Sink) Open(ctx context.Context, info sink.ResultInfo) (sink.Writer, error) {
	return &writer{s: s, info: info}, nil
}

type writer struct {
	s       *Sink
	info    sink.ResultInfo
	seq     int        // sequence number of the pending batch
	pending []sink.Row // the batch to send next; nil until a Write holds one back
	done    bool
}

// RetriesBatches implements sink.BatchRetrier: a failed Write or Commit changes
// nothing, and sending a batch again reuses its idempotency key.
func (w *writer) RetriesBatches() bool { return true }

// Write sends the batch held back from the previous Write, and holds rows back.
func (w *writer) Write(ctx context.Context, rows []sink.Row) error {
	if len(rows) == 0 {
		return nil
	}
	if w.pending != nil {
		if err := w.s.send(ctx, w.info, w.seq, w.pending, false); err != nil {
			return err
		}
		w.seq++
	}
	w.pending = rows
	return nil
}

// Commit sends the last batch, marked final.
func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return nil
	}
	if w.pending != nil || !w.s.cfg.SkipEmpty {
		if err := w.s.send(ctx, w.info, w.seq, w.pending, true); err != nil {
			return err
		}
	}
	w.done, w.pending = true, nil
	return nil
}

// Abort drops the held batch. Batches already sent stay sent; without a final batch
// the receiver knows the result is incomplete.
func (w *writer) Abort(ctx context.Context) error {
	w.done, w.pending = true, nil
	return nil
}

// IdempotencyKey is the key of batch seq of a result.
func IdempotencyKey(info sink.ResultInfo, seq int) string {
	return info.RunID + ":" + info.Query + ":" + strconv.Itoa(seq)
}

// send POSTs one batch.
func (s *Sink) send(ctx context.Context, info sink.ResultInfo, seq int, rows []sink.Row, final bool) error {
	body, err := s.body(info, seq, rows, final)
	if err != nil {
		return sink.Permanent(fmt.Errorf("webhook sink %q: batch %d: %w", s.name, seq, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return sink.Permanent(fmt.Errorf("webhook sink %q: batch %d: %w", s.name, seq, err))
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", s.cfg.ContentType)
	req.Header.Set("User-Agent", "spout")
	req.Header.Set("Idempotency-Key", IdempotencyKey(info, seq))
	req.Header.Set("X-Spout-Query", info.Query)
	req.Header.Set("X-Spout-Run-Id", info.RunID)
	req.Header.Set("X-Spout-Connection", info.Connection)
	if info.Shard.Sharded() {
		req.Header.Set("X-Spout-Shard", info.Shard.String())
	}
	req.Header.Set("X-Spout-Sequence", strconv.Itoa(seq))
	req.Header.Set("X-Spout-Final", strconv.FormatBool(final))
	if s.secret != nil {
		mac := hmac.New(sha256.New, s.secret)
		mac.Write(body)
		req.Header.Set(s.cfg.SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}

	what := fmt.Sprintf("webhook sink %q: POST %s/… batch %d", s.name, s.target, seq)
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, which may be a secret; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	// Read a little of the body for the error, and drain the rest so the connection
	// can be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("%s: %s", what, resp.Status)
	if snippet = bytes.TrimSpace(snippet); len(snippet) > 0 {
		err = fmt.Errorf("%w: %s", err, snippet)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return sink.RetryAfter(err, min(d, maxRetryAfter))
		}
		return err
	case code == http.StatusRequestTimeout || code >= 500:
		return err
	default:
		return sink.Permanent(err)
	}
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// body encodes one batch.
func (s *Sink) body(info sink.ResultInfo, seq int, rows []sink.Row, final bool) ([]byte, error) {
	cols := info.Columns
	switch {
	case s.template != nil:
		data := TemplateData{
			Query: info.Query, RunID: info.RunID, Connection: info.Connection, Sink: s.name,
			CollectedAt: info.CollectedAt, Columns: cols, Sequence: seq, Final: final,
			Rows: make([]map[string]any, len(rows)),
		}
		for i, row := range rows {
			m := make(map[string]any, len(cols))
			for j, c := range cols {
				if j < len(row) {
					m[c.Name] = templateValue(row[j])
				}
			}
			data.Rows[i] = m
		}
		var b bytes.Buffer
		if err := s.template.Execute(&b, data); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case s.cfg.Format == NDJSON:
		var b []byte
		for _, row := range rows {
			b = sink.AppendJSONRow(b, cols, row)
			b = append(b, '\n')
		}
		return b, nil
	default:
		b := []byte(`{"query":`)
		b = sink.AppendJSONString(b, info.Query)
		b = append(b, `,"run_id":`...)
		b = sink.AppendJSONString(b, info.RunID)
		b = append(b, `,"connection":`...)
		b = sink.AppendJSONString(b, info.Connection)
		if info.Shard.Sharded() {
			b = append(b, `,"shard":`...)
			b = sink.AppendJSONString(b, info.Shard.String())
		}
		b = append(b, `,"collected_at":`...)
		b = sink.AppendJSONValue(b, info.CollectedAt)
		b = append(b, `,"sequence":`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `,"final":`...)
		b = strconv.AppendBool(b, final)
		b = append(b, `,"columns":[`...)
		for i, c := range cols {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = sink.AppendJSONString(b, c.Name)
			b = append(b, `,"type":`...)
			b = sink.AppendJSONString(b, c.Type)
			b = append(b, '}')
		}
		b = append(b, `],"rows":[`...)
		for i, row := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = sink.AppendJSONRow(b, cols, row)
		}
		return append(b, "]}"...), nil
	}
}

// templateValue decodes jsonb so templates can reach inside it.
func templateValue(v any) any {
	raw, ok := v.(json.RawMessage)
	if !ok {
		return v
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return string(raw)
	}
	return out
}
