// Package yamlconf reads YAML configuration into Go structs strictly and describes
// those structs as JSON Schema, so that spout.yaml and every sink's options follow one
// set of rules.
//
// A struct field is a key when it is exported and has a yaml tag naming it; other
// fields (untagged, or yaml:"-") are not read. Further tags describe the key:
//
//	yaml:"name"      the key
//	required:"true"  the key must be present
//	enum:"a,b"       the value must be one of these
//	doc:"..."        a description, for the JSON Schema
//
// Values may be strings, bools, non-negative integers and floats, time.Durations (90s,
// 5m, 1h30m), lists of strings, maps from string keys, nested structs, pointers to any
// of these, and types implementing NodeDecoder or yaml.Unmarshaler.
package yamlconf

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/didyoumean"
)

// Error is one problem found while decoding, at its line and column.
type Error struct {
	Line, Column int    // 1-based
	Path         string // the setting at fault, e.g. "queries[2].timeout"; "" for the top
	Msg          string // what is wrong, without Path
}

// Text is the message with its path: "queries[2].timeout: ...".
func (e *Error) Text() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func (e *Error) Error() string { return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Text()) }

// Mapping is what the decoder saw of one mapping read into a struct.
type Mapping struct {
	Node   *yaml.Node            // the mapping
	Keys   map[string]*yaml.Node // key → the key's node
	Values map[string]*yaml.Node // key → the value's node
	Bad    []string              // keys whose value had errors, already reported
}

// Decoder reads YAML nodes into structs. Unlike yaml.Node.Decode it goes on after an
// error, so that one pass reports every problem. The zero Decoder is ready to use.
type Decoder struct {
	// Seen, when set, is called for every struct read from a mapping, with a pointer
	// to the struct, so that a caller can keep positions for checks of its own.
	Seen func(v any, m Mapping)

	errs []*Error
}

// Errors returns the problems found so far, in the order they were found.
func (d *Decoder) Errors() []*Error { return d.errs }

// Errorf records a problem at n.
func (d *Decoder) Errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Decode reads the mapping n into the structs that v points to. The structs share the
// mapping: each key belongs to the one that names it (a sink's common options beside its
// own). path names n in messages; "" for the top of a document.
func (d *Decoder) Decode(n *yaml.Node, path string, v ...any) {
	targets := make([]reflect.Value, len(v))
	for i, x := range v {
		rv := reflect.ValueOf(x)
		if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
			// A programming error in the caller, reported rather than panicked.
			d.Errorf(Resolve(n), path, "cannot decode into %T, want a pointer to a struct", x)
			return
		}
		targets[i] = rv.Elem()
	}
	n = Resolve(n)
	if IsNull(n) {
		return
	}
	d.decodeStruct(n, targets, path)
}

// Names lists the keys of struct type t, in field order.
func Names(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := Name(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// Name is the key of struct field f, or "" when f is not read from YAML.
func Name(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

type field struct {
	target int
	index  int
	f      reflect.StructField
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *Decoder) decodeStruct(n *yaml.Node, targets []reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "want a mapping of settings, got %s", Describe(n))
		return
	}
	m := Mapping{Node: n, Keys: map[string]*yaml.Node{}, Values: map[string]*yaml.Node{}}
	fields := map[string]field{}
	var names []string
	for ti, v := range targets {
		t := v.Type()
		for i := range t.NumField() {
			name := Name(t.Field(i))
			if _, dup := fields[name]; name == "" || dup {
				continue
			}
			fields[name] = field{ti, i, t.Field(i)}
			names = append(names, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if first, dup := m.Keys[k.Value]; dup {
			d.Errorf(k, path, "%s is set twice (first at line %d)", k.Value, first.Line)
			continue
		}
		m.Keys[k.Value], m.Values[k.Value] = k, val
		f, ok := fields[k.Value]
		if !ok {
			d.Errorf(k, path, "unknown key %q%s", k.Value, didyoumean.HintOrKnown(k.Value, names))
			continue
		}
		before := len(d.errs)
		d.decodeValue(val, targets[f.target].Field(f.index), join(path, k.Value))
		if enum := f.f.Tag.Get("enum"); enum != "" {
			if val := Resolve(val); val.Kind == yaml.ScalarNode && !IsNull(val) {
				if allowed := strings.Split(enum, ","); !slices.Contains(allowed, val.Value) {
					d.Errorf(val, join(path, k.Value), "%q is not one of %s", val.Value, strings.Join(allowed, ", "))
				}
			}
		}
		if len(d.errs) > before {
			m.Bad = append(m.Bad, k.Value)
		}
	}
	for _, name := range names {
		if fields[name].f.Tag.Get("required") != "true" {
			continue
		}
		if _, ok := m.Keys[name]; !ok {
			d.Errorf(n, path, "%s is required", name)
		}
	}
	if d.Seen != nil {
		for _, v := range targets {
			d.Seen(v.Addr().Interface(), m)
		}
	}
}

// NodeDecoder is a type that reads itself with the decoder, such as one written either
// as a scalar or as a mapping of settings: unlike a yaml.Unmarshaler, its problems keep
// their own positions, and the mappings it decodes with Decode are reported to Seen.
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node, path string)
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeDecoderType = reflect.TypeFor[NodeDecoder]()
)

// decodeValue reads n into v, which is settable.
func (d *Decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	n = Resolve(n)
	if IsNull(n) {
		return // the zero value: absent and null mean the same
	}
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		d.decodeValue(n, p.Elem(), path)
		v.Set(p)
		return
	}
	if reflect.PointerTo(v.Type()).Implements(nodeDecoderType) {
		v.Addr().Interface().(NodeDecoder).DecodeNode(d, n, path)
		return
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.Errorf(n, path, "%s", err)
		}
		return
	}
	switch {
	case v.Type() == durationType:
		dur, err := ParseDuration(n)
		if err != nil {
			d.Errorf(n, path, "%s", err)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.Errorf(n, path, "want a string, got %s", Describe(n))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.Errorf(n, path, "want true or false, got %s", Describe(n))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.Errorf(n, path, "want a whole number, got %s", Describe(n))
			return
		}
		if i < 0 {
			// Counts and sizes, all of them.
			d.Errorf(n, path, "must not be negative")
			return
		}
		v.SetInt(i)
	case v.CanFloat():
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.Errorf(n, path, "want a number, got %s", Describe(n))
			return
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		if n.Kind != yaml.SequenceNode {
			d.Errorf(n, path, "want a list, e.g. [a, b], got %s", Describe(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			item = Resolve(item)
			if item.Kind != yaml.ScalarNode || IsNull(item) {
				d.Errorf(item, fmt.Sprintf("%s[%d]", path, i), "want a string, got %s", Describe(item))
				continue
			}
			out = reflect.Append(out, reflect.ValueOf(item.Value).Convert(v.Type().Elem()))
		}
		v.Set(out)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if n.Kind != yaml.MappingNode {
			d.Errorf(n, path, "want a mapping, got %s", Describe(n))
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, dup := seen[k.Value]; dup {
				d.Errorf(k, path, "%s is set twice (first at line %d)", k.Value, first.Line)
				continue
			}
			seen[k.Value] = k
			e := reflect.New(v.Type().Elem()).Elem()
			d.decodeValue(n.Content[i+1], e, join(path, k.Value))
			out.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(out)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, []reflect.Value{v}, path)
	default:
		// A programming error in the struct's definition, not a user error.
		d.Errorf(n, path, "cannot read into %s", v.Type())
	}
}

// ParseDuration reads a duration written as in Go (90s, 5m, 1h30m), not negative.
func ParseDuration(n *yaml.Node) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("want a duration such as 90s, 5m or 1h, got %s", Describe(n))
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 90s, 5m or 1h", n.Value)
	}
	return d, nil
}

// Resolve follows aliases and steps into a document to the node that holds the value.
func Resolve(n *yaml.Node) *yaml.Node {
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

// IsNull reports whether n is absent or null.
func IsNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Describe names a node's kind for messages: "a list", "a mapping", `the string "x"`.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "something else"
}
