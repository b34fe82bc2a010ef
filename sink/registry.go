package sink

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Factory builds one destination from its options. node is the sink's YAML mapping
// without the options every sink shares (type, batch, retry, timeout, dead_letter),
// which Build handles. A factory decodes node with DecodeConfig and returns the
// destination's New (FactoryOf does both); Build adds the wrappers.
type Factory func(name string, node *yaml.Node) (Sink, error)

// FactoryOf returns the Factory of a destination whose New takes its options struct:
// the factory decodes node into a C with DecodeConfig and passes it to newSink.
func FactoryOf[C any, S Sink](newSink func(name string, cfg C) (S, error)) Factory {
	return func(name string, node *yaml.Node) (Sink, error) {
		var cfg C
		if err := DecodeConfig(name, node, &cfg); err != nil {
			return nil, err
		}
		s, err := newSink(name, cfg)
		if err != nil {
			// Not s: a nil *T in a Sink is not a nil Sink.
			return nil, err
		}
		return s, nil
	}
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

// Register makes a sink type available to Build. A later registration of the same
// type replaces the earlier one.
func Register(typ string, f Factory) { DefaultRegistry.Register(typ, f) }

// RegisterDeadLetter makes a dead_letter URL scheme available to Build.
func RegisterDeadLetter(scheme string, f DeadLetterFactory) {
	DefaultRegistry.RegisterDeadLetter(scheme, f)
}

// Build builds a sink from its YAML mapping with DefaultRegistry.
func Build(name string, node *yaml.Node) (Sink, error) { return DefaultRegistry.Build(name, node) }

// Register makes a sink type available to Build.
func (r *Registry) Register(typ string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	r.factories[typ] = f
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
	types := make([]string, 0, len(r.factories))
	for t := range r.factories {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Common holds the options every sink accepts besides its own.
type Common struct {
	Type       string        `yaml:"type"`
	Batch      BatchPolicy   `yaml:"batch"`
	Retry      RetryPolicy   `yaml:"retry"`
	Timeout    time.Duration `yaml:"timeout"`
	DeadLetter string        `yaml:"dead_letter"` // a directory, file:///dir or s3://bucket/prefix/
}

// Build builds the sink called name from node, the YAML mapping under sinks.<name>,
// and wraps it as configured (see Wrap). Errors are *ConfigError with the line of the
// option at fault, and name the sink.
func (r *Registry) Build(name string, node *yaml.Node) (Sink, error) {
	node = resolve(node)
	if node == nil || node.Kind != yaml.MappingNode {
		line := 0
		if node != nil {
			line = node.Line
		}
		return nil, &ConfigError{Sink: name, Line: line, Err: fmt.Errorf("sink %q: want a mapping of options", name)}
	}
	commonKeys := fieldNames(reflect.TypeFor[Common]())
	own := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: node.Line, Column: node.Column}
	shared := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: node.Line, Column: node.Column}
	for i := 0; i+1 < len(node.Content); i += 2 {
		dst := own
		if slices.Contains(commonKeys, node.Content[i].Value) {
			dst = shared
		}
		dst.Content = append(dst.Content, node.Content[i], node.Content[i+1])
	}

	var c Common
	if err := DecodeConfig(name, shared, &c); err != nil {
		return nil, err
	}
	if c.Type == "" {
		return nil, &ConfigError{Sink: name, Line: node.Line, Field: "type",
			Err: fmt.Errorf("sink %q: type is required (one of %s)", name, strings.Join(r.Types(), ", "))}
	}
	r.mu.RLock()
	f := r.factories[c.Type]
	r.mu.RUnlock()
	if f == nil {
		return nil, fieldError(name, node, "type", fmt.Errorf("sink %q: unknown type %q (known: %s)",
			name, c.Type, strings.Join(r.Types(), ", ")))
	}
	o, err := r.options(c)
	if err != nil {
		var fe *FieldError
		errors.As(err, &fe)
		return nil, fieldError(name, node, fe.Field, fmt.Errorf("sink %q: %w", name, err))
	}

	s, err := f(name, own)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return nil, err
		}
		field := ""
		var fe *FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		return nil, fieldError(name, node, field, err)
	}
	return Wrap(s, o), nil
}

// options checks the common options; errors are *FieldError.
func (r *Registry) options(c Common) (Options, error) {
	o := Options{Batch: c.Batch, Retry: c.Retry, Timeout: c.Timeout}
	switch {
	case c.Batch.Rows < 0 || c.Batch.Bytes < 0:
		return o, &FieldError{Field: "batch", Err: errors.New("rows and bytes must not be negative")}
	case c.Retry.Attempts < 0 || c.Retry.Backoff < 0 || c.Retry.MaxBackoff < 0:
		return o, &FieldError{Field: "retry", Err: errors.New("attempts and backoffs must not be negative")}
	case c.Timeout < 0:
		return o, &FieldError{Field: "timeout", Err: errors.New("must not be negative")}
	}
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

// fieldError wraps err as a *ConfigError at the line of the option field in node (or
// of node itself).
func fieldError(name string, node *yaml.Node, field string, err error) error {
	line := node.Line
	for i := 0; field != "" && i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == field {
			line = node.Content[i].Line
		}
	}
	return &ConfigError{Sink: name, Line: line, Field: field, Err: err}
}

// DecodeConfig decodes a sink's options into the struct v points to, strictly: an
// unknown key is an error, as is a value of the wrong type, each reported as a
// *ConfigError naming the sink and giving the line. Nested structs are strict too.
func DecodeConfig(name string, node *yaml.Node, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("sink %q: DecodeConfig wants a pointer to a struct, got %T", name, v)
	}
	return decodeStrict(name, "", resolve(node), rv.Elem())
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func decodeStrict(name, path string, node *yaml.Node, rv reflect.Value) error {
	if node == nil {
		return nil
	}
	strict := rv.Kind() == reflect.Struct && rv.Type() != reflect.TypeFor[time.Time]() &&
		!reflect.PointerTo(rv.Type()).Implements(unmarshalerType)
	if !strict {
		if err := node.Decode(rv.Addr().Interface()); err != nil {
			return &ConfigError{Sink: name, Line: node.Line, Field: path,
				Err: fmt.Errorf("sink %q: %s: %s", name, path, yamlMessage(err))}
		}
		return nil
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	if node.Kind != yaml.MappingNode {
		what := "options"
		if path != "" {
			what = path
		}
		return &ConfigError{Sink: name, Line: node.Line, Field: path,
			Err: fmt.Errorf("sink %q: %s: want a mapping", name, what)}
	}
	fields := map[string]int{}
	for i := range rv.NumField() {
		if n := fieldName(rv.Type().Field(i)); n != "" {
			fields[n] = i
		}
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, val := node.Content[i], resolve(node.Content[i+1])
		full := key.Value
		if path != "" {
			full = path + "." + key.Value
		}
		idx, ok := fields[key.Value]
		if !ok {
			return &ConfigError{Sink: name, Line: key.Line, Field: full,
				Err: fmt.Errorf("sink %q: unknown option %q (known: %s)", name, full,
					strings.Join(fieldNames(rv.Type()), ", "))}
		}
		if err := decodeStrict(name, full, val, rv.Field(idx)); err != nil {
			return err
		}
	}
	return nil
}

// yamlMessage drops yaml's own "line N:" prefix, which ConfigError already gives.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if strings.HasPrefix(m, "line ") {
			if _, rest, ok := strings.Cut(m, ": "); ok {
				m = rest
			}
		}
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := fieldName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return tag
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}
