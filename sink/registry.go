package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/yamlconf"
)

// Factory builds one destination from its options struct. FactoryOf and
// FactoryWithEnv make one; the registry records the struct, so that Build decodes the
// options and the JSON Schema of spout.yaml describes them.
type Factory struct {
	config reflect.Type // the options struct
	build  func(name string, cfg any, env Env) (Sink, error)
}

// FactoryOf returns the Factory of a destination whose New takes its options struct C.
func FactoryOf[C any, S Sink](newSink func(name string, cfg C) (S, error)) Factory {
	return FactoryWithEnv(func(name string, cfg C, _ Env) (S, error) { return newSink(name, cfg) })
}

// FactoryWithEnv is FactoryOf for a destination that also needs what the program
// provides (see Env).
func FactoryWithEnv[C any, S Sink](newSink func(name string, cfg C, env Env) (S, error)) Factory {
	return Factory{config: reflect.TypeFor[C](), build: func(name string, cfg any, env Env) (Sink, error) {
		s, err := newSink(name, *cfg.(*C), env)
		if err != nil {
			// Not s: a nil *T in a Sink is not a nil Sink.
			return nil, err
		}
		return s, nil
	}}
}

// Env is what sinks receive from the program that builds them rather than from their
// options. The zero Env logs nothing and gives file sinks the process's standard output,
// unshared.
type Env struct {
	// Logger receives the wrappers' records (one per retry). nil discards them.
	Logger *slog.Logger
	// Stdout is where file sinks with path "-" write, shared with the program's other
	// writers to standard output (its log). nil means os.Stdout, shared with no one.
	Stdout *SharedWriter
}

// DeadLetterFactory builds a dead-letter store from a dead_letter URL, e.g.
// s3://bucket/prefix/.
type DeadLetterFactory func(u *url.URL) (DeadLetterStore, error)

// Registry maps sink types to factories and dead-letter URL schemes to stores. The
// destination packages register themselves with DefaultRegistry when imported, as
// database/sql drivers do.
type Registry struct {
	mu          sync.RWMutex
	factories   map[string]Factory
	deadLetters map[string]DeadLetterFactory
}

// DefaultRegistry is the registry used by Register, RegisterDeadLetter and Build.
var DefaultRegistry = &Registry{}

// Register makes a sink type available to Build with DefaultRegistry. It is meant for
// the init function of a destination's package and, like database/sql's Register,
// panics when the type is registered twice or f is not usable: both are programming
// errors that would otherwise pick a destination by import order.
func Register(typ string, f Factory) {
	if err := DefaultRegistry.Register(typ, f); err != nil {
		panic(err)
	}
}

// RegisterDeadLetter makes a dead_letter URL scheme available to Build.
func RegisterDeadLetter(scheme string, f DeadLetterFactory) {
	DefaultRegistry.RegisterDeadLetter(scheme, f)
}

// Build builds a sink from its YAML mapping with DefaultRegistry.
func Build(name string, node *yaml.Node, env Env) (Sink, error) {
	return DefaultRegistry.Build(name, node, env)
}

var commonKeys = yamlconf.Names(reflect.TypeFor[Common]())

// Register makes a sink type available to Build. It refuses a type already registered,
// and a factory whose options struct is missing or reuses a common option's key.
func (r *Registry) Register(typ string, f Factory) error {
	if f.build == nil || f.config == nil || f.config.Kind() != reflect.Struct {
		return fmt.Errorf("registering sink type %q: want a Factory from FactoryOf over an options struct", typ)
	}
	for _, k := range yamlconf.Names(f.config) {
		if slices.Contains(commonKeys, k) {
			return fmt.Errorf("registering sink type %q: option %q is one every sink takes (sink.Common)", typ, k)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.factories[typ]; dup {
		return fmt.Errorf("registering sink type %q: already registered", typ)
	}
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	r.factories[typ] = f
	return nil
}

// RegisterDeadLetter makes a dead_letter URL scheme available to Build.
func (r *Registry) RegisterDeadLetter(scheme string, f DeadLetterFactory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deadLetters == nil {
		r.deadLetters = map[string]DeadLetterFactory{}
	}
	r.deadLetters[scheme] = f
}

// Types lists the registered sink types, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.factories))
}

// Configs maps each registered sink type to its options struct, for the JSON Schema.
func (r *Registry) Configs() map[string]reflect.Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]reflect.Type, len(r.factories))
	for typ, f := range r.factories {
		out[typ] = f.config
	}
	return out
}

// Common holds the options every sink accepts besides its own.
type Common struct {
	Type       string        `yaml:"type" doc:"The destination's type."`
	Batch      BatchPolicy   `yaml:"batch" doc:"How rows are grouped into the batches the destination receives."`
	Retry      RetryPolicy   `yaml:"retry" doc:"How failed deliveries are retried, with exponential backoff and jitter; Retry-After is honoured."`
	Timeout    time.Duration `yaml:"timeout" doc:"How long one result may take to deliver, retries included, e.g. 5m; default no limit."`
	DeadLetter string        `yaml:"dead_letter" doc:"Where a result that could not be delivered is written whole: a directory, file:///dir or s3://bucket/prefix/."`
}

// Build builds the sink called name from node, the YAML mapping under sinks.<name>,
// and wraps it as configured (see Wrap). Every problem is a *ConfigError at the option at
// fault; several are joined (errors.Join), so errors.As finds the first.
func (r *Registry) Build(name string, node *yaml.Node, env Env) (Sink, error) {
	node = yamlconf.Resolve(node)
	if node == nil || node.Kind != yaml.MappingNode {
		ce := &ConfigError{Sink: name, Err: errors.New("want a mapping of options")}
		if node != nil {
			ce.Line, ce.Column = node.Line, node.Column
		}
		return nil, ce
	}
	typ := valueOf(node, "type")
	if typ == nil {
		return nil, &ConfigError{Sink: name, Line: node.Line, Column: node.Column, Field: "type",
			Err: fmt.Errorf("type is required (one of %s)", strings.Join(r.Types(), ", "))}
	}
	r.mu.RLock()
	f, ok := r.factories[typ.Value]
	r.mu.RUnlock()
	if !ok || typ.Kind != yaml.ScalarNode {
		return nil, &ConfigError{Sink: name, Line: typ.Line, Column: typ.Column, Field: "type",
			Err: fmt.Errorf("unknown type %q (known: %s)", typ.Value, strings.Join(r.Types(), ", "))}
	}

	var c Common
	cfg := reflect.New(f.config)
	var d yamlconf.Decoder
	d.Decode(node, "", &c, cfg.Interface())
	if errs := d.Errors(); len(errs) > 0 {
		list := make([]error, len(errs))
		for i, e := range errs {
			list[i] = &ConfigError{Sink: name, Line: e.Line, Column: e.Column, Field: e.Path, Err: errors.New(e.Text())}
		}
		return nil, errors.Join(list...)
	}
	o, err := r.options(c)
	if err != nil {
		return nil, fieldError(name, node, err)
	}
	o.Retry.Logger = env.Logger
	s, err := f.build(name, cfg.Interface(), env)
	if err != nil {
		return nil, fieldError(name, node, err)
	}
	return Wrap(s, o), nil
}

// options checks the common options; errors are *FieldError.
func (r *Registry) options(c Common) (Options, error) {
	// Negative numbers and durations were refused by the decoder.
	o := Options{Batch: c.Batch, Retry: c.Retry, Timeout: c.Timeout}
	if c.DeadLetter == "" {
		return o, nil
	}
	store, err := r.deadLetter(c.DeadLetter)
	if err != nil {
		return o, &FieldError{Field: "dead_letter", Err: err}
	}
	o.DeadLetter = store
	return o, nil
}

func (r *Registry) deadLetter(s string) (DeadLetterStore, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a Windows drive letter is no scheme
		return DirStore(s), nil
	}
	if u.Scheme == "file" {
		if u.Path == "" {
			return nil, fmt.Errorf("%q: want file:///path/to/dir", s)
		}
		return DirStore(u.Path), nil
	}
	r.mu.RLock()
	f := r.deadLetters[u.Scheme]
	r.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%q: unknown scheme %q (want a directory, file:// or s3://; import sink/s3 for s3)", s, u.Scheme)
	}
	return f(u)
}

// fieldError locates err, from the common options' checks or a destination's New, at
// the option a *FieldError names, or at the sink's mapping.
func fieldError(name string, node *yaml.Node, err error) error {
	ce := &ConfigError{Sink: name, Line: node.Line, Column: node.Column, Err: err}
	var fe *FieldError
	if errors.As(err, &fe) {
		ce.Field = fe.Field
		for i := 0; i+1 < len(node.Content); i += 2 {
			if k := node.Content[i]; k.Value == fe.Field {
				ce.Line, ce.Column = k.Line, k.Column
			}
		}
	}
	return ce
}

// valueOf returns the value of key in the mapping node, or nil.
func valueOf(node *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return yamlconf.Resolve(node.Content[i+1])
		}
	}
	return nil
}
