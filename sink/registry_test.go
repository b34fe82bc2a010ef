package sink

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type fakeConfig struct {
	Path    string            `yaml:"path"`
	Mode    string            `yaml:"mode"`
	Headers map[string]string `yaml:"headers"`
	Nested  struct {
		Size ByteSize `yaml:"size"`
	} `yaml:"nested"`
}

// sinksFrom parses a spout.yaml-like document and returns the node under sinks.<name>.
func sinkNode(t *testing.T, doc, name string) *yaml.Node {
	t.Helper()
	var root struct {
		Sinks map[string]yaml.Node `yaml:"sinks"`
	}
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	n := root.Sinks[name]
	return &n
}

func testRegistry(got *fakeConfig) *Registry {
	r := &Registry{}
	if err := r.Register("fake", FactoryOf(func(name string, cfg fakeConfig) (*memSink, error) {
		if cfg.Mode != "" && cfg.Mode != "ok" {
			return nil, &FieldError{Field: "mode", Err: fmt.Errorf("unknown mode %q", cfg.Mode)}
		}
		*got = cfg
		return &memSink{name: name}, nil
	})); err != nil {
		panic(err)
	}
	r.RegisterDeadLetter("mem", func(u *url.URL) (DeadLetterStore, error) { return DirStore("/mem" + u.Path), nil })
	return r
}

func TestBuild(t *testing.T) {
	doc := `
sinks:
  good:
    type: fake
    path: /tmp/x
    headers: {Authorization: "${TOKEN}"}
    nested: {size: 2MiB}
    batch: {rows: 10, bytes: 1KB}
    retry: {attempts: 2, backoff: 1s, max_backoff: 5s}
    timeout: 5m
    dead_letter: mem:///dl
`
	var cfg fakeConfig
	s, err := testRegistry(&cfg).Build("good", sinkNode(t, doc, "good"), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "good" || cfg.Path != "/tmp/x" || cfg.Headers["Authorization"] != "${TOKEN}" || cfg.Nested.Size != 2<<20 {
		t.Errorf("decoded %+v", cfg)
	}
	dl, ok := s.(*deadLetterSink)
	if !ok {
		t.Fatalf("got %T, want the dead-letter wrapper outermost", s)
	}
	if dl.store != DirStore("/mem/dl") {
		t.Errorf("dead letter store %v", dl.store)
	}
	to := dl.Sink.(*timeoutSink)
	if to.d != 5*time.Minute {
		t.Errorf("timeout %s", to.d)
	}
	b := to.Sink.(*batchSink)
	if b.p.Rows != 10 || b.p.Bytes != 1000 {
		t.Errorf("batch %+v", b.p)
	}
	if r := b.Sink.(*retrySink); r.p.Attempts != 2 || r.p.Backoff != time.Second || r.p.MaxBackoff != 5*time.Second {
		t.Errorf("retry %+v", r.p)
	}
}

func TestBuildErrorsGiveLines(t *testing.T) {
	doc := `sinks:
  a:
    type: fake
    paht: /tmp/x
  b:
    type: nope
  c:
    type: fake
    mode: weird
  d:
    type: fake
    timeout: 30
  e:
    type: fake
    batch: {rows: 1, count: 3}
  f:
    path: x
  g:
    type: fake
    dead_letter: ftp://host/x
  h:
    type: fake
    nested: {size: lots}
  i: [1, 2]
`
	tests := []struct {
		sink, want   string
		line, column int
	}{
		{"a", `sink "a": unknown key "paht" (did you mean "path"?)`, 4, 5},
		{"b", `sink "b": unknown type "nope" (known: fake)`, 6, 11},
		{"c", `sink "c": mode: unknown mode "weird"`, 9, 5},
		{"d", `sink "d": timeout: "30" is not a duration such as 90s, 5m or 1h`, 12, 14},
		{"e", `sink "e": batch: unknown key "count" (known: rows, bytes)`, 15, 22},
		{"f", `sink "f": type is required (one of fake)`, 17, 5},
		{"g", `sink "g": dead_letter: "ftp://host/x": unknown scheme "ftp"`, 20, 5},
		{"h", `sink "h": nested.size: invalid byte size "lots"`, 23, 20},
		{"i", `sink "i": want a mapping of options`, 24, 6},
	}
	var cfg fakeConfig
	r := testRegistry(&cfg)
	for _, tt := range tests {
		t.Run(tt.sink, func(t *testing.T) {
			_, err := r.Build(tt.sink, sinkNode(t, doc, tt.sink), Env{})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			if ce.Line != tt.line || ce.Column != tt.column || ce.Sink != tt.sink || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %d:%d %q\nwant %d:%d %q", ce.Line, ce.Column, err, tt.line, tt.column, tt.want)
			}
			if strings.Contains(ce.Err.Error(), `sink "`) {
				t.Errorf("Err %q names the sink, which ConfigError.Sink does", ce.Err)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d:%d: ", tt.line, tt.column)) {
				t.Errorf("message %q does not start with its position", err)
			}
		})
	}
}

// A failing New returns a nil *memSink; the factory must not wrap it in a non-nil Sink.
func TestFactoryOfFailureIsNilSink(t *testing.T) {
	f := FactoryOf(func(name string, cfg fakeConfig) (*memSink, error) { return nil, errors.New("bad") })
	s, err := f.build("x", &fakeConfig{}, Env{})
	if err == nil || s != nil {
		t.Errorf("got %#v, %v; want a nil Sink and the error", s, err)
	}
}

// The decoder goes on after a problem: every one is reported, each at its place.
func TestBuildReportsEveryProblem(t *testing.T) {
	doc := `sinks:
  a:
    type: fake
    paht: /tmp/x
    retry: {attempts: -1, backoff: soon}
    nested: {size: 1KB, size: 2KB}
`
	var cfg fakeConfig
	_, err := testRegistry(&cfg).Build("a", sinkNode(t, doc, "a"), Env{})
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		ce := e.(*ConfigError)
		got = append(got, fmt.Sprintf("%d:%d %s", ce.Line, ce.Column, ce.Err))
	}
	want := []string{
		`4:5 unknown key "paht" (did you mean "path"?)`,
		`5:23 retry.attempts: must not be negative`,
		`5:36 retry.backoff: "soon" is not a duration such as 90s, 5m or 1h`,
		`6:25 nested: size is set twice (first at line 6)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRegisterRefusesDuplicates(t *testing.T) {
	r := &Registry{}
	f := FactoryOf(func(name string, cfg fakeConfig) (*memSink, error) { return &memSink{name: name}, nil })
	if err := r.Register("fake", f); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("fake", f); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second Register: %v, want already registered", err)
	}
	type clash struct {
		Timeout string `yaml:"timeout"`
	}
	err := r.Register("clash", FactoryOf(func(name string, cfg clash) (*memSink, error) { return nil, nil }))
	if err == nil || !strings.Contains(err.Error(), `option "timeout"`) {
		t.Errorf("Register with a common key: %v, want an error", err)
	}
	if got := r.Types(); len(got) != 1 || got[0] != "fake" {
		t.Errorf("Types() = %v, want [fake]", got)
	}
	if got := r.Configs()["fake"]; got != reflect.TypeFor[fakeConfig]() {
		t.Errorf("Configs()[fake] = %v", got)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"0": 0, "1024": 1024, "4MiB": 4 << 20, "4 MB": 4e6, "512KiB": 512 << 10, "1GB": 1e9, "10B": 10} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MB", "4 TB", "MB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
