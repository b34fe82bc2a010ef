package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/didyoumean"
)

// The decoder reads YAML nodes into the structs of config.go strictly: an unknown key,
// a value of the wrong kind, a missing required field or a value outside an enum is an
// error at that node's position. Unlike yaml.Node.Decode it goes on after an error, so
// one pass reports everything. Struct fields are described by tags:
//
//	yaml:"name"           the key ("-": not read from YAML)
//	required:"true"       the key must be present
//	enum:"a,b"            the value must be one of these
//	doc:"..."             a description, for the JSON Schema

var durationType = reflect.TypeFor[Duration]()

// decodeStruct reads the mapping n into the struct v points at. path names the entry in
// messages, e.g. "queries[2]".
func (l *errorList) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	v = v.Elem()
	t := v.Type()
	nd := node{pos: nodePos(n), values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		l.add(nodePos(n), "%s: want a mapping of settings, got %s", path, describe(n))
		return
	}
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if _, dup := nd.keys[k.Value]; dup {
			l.add(nodePos(k), "%s: %s is set twice (first at line %d)", path, k.Value, nd.keys[k.Value].Line)
			continue
		}
		nd.keys[k.Value], nd.values[k.Value] = k, val
		idx, ok := fields[k.Value]
		if !ok {
			l.add(nodePos(k), "%s: unknown key %q%s", path, k.Value, didyoumean.HintOrKnown(k.Value, names))
			continue
		}
		f := t.Field(idx)
		before := len(l.errs)
		l.decodeValue(val, v.Field(idx), path+"."+k.Value)
		if len(l.errs) > before {
			nd.bad = append(nd.bad, k.Value)
		}
		if enum := f.Tag.Get("enum"); enum != "" && val.Kind == yaml.ScalarNode {
			if allowed := strings.Split(enum, ","); !slices.Contains(allowed, val.Value) {
				l.add(nodePos(val), "%s.%s: %q is not one of %s", path, k.Value, val.Value, strings.Join(allowed, ", "))
			}
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || f.Tag.Get("required") != "true" {
			continue
		}
		if _, ok := nd.keys[name]; !ok {
			l.add(nodePos(n), "%s: %s is required", path, name)
		}
	}
	if s, ok := v.Addr().Interface().(interface{ setNode(node) }); ok {
		s.setNode(nd)
	}
}

// decodeValue reads n into v, which is settable.
func (l *errorList) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		if p.Elem().Kind() == reflect.Struct {
			l.decodeStruct(n, p, path)
		} else {
			l.decodeValue(n, p.Elem(), path)
		}
		v.Set(p)
		return
	}
	if isNull(n) {
		return
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			l.add(nodePos(n), "%s: want a duration such as 90s, 5m or 1h, got %s", path, describe(n))
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil || d < 0 {
			l.add(nodePos(n), "%s: %q is not a duration such as 90s, 5m or 1h", path, n.Value)
			return
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.add(nodePos(n), "%s: want a string, got %s", path, describe(n))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			l.add(nodePos(n), "%s: want true or false, got %s", path, describe(n))
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			l.add(nodePos(n), "%s: want a whole number, got %s", path, describe(n))
			return
		}
		if i < 0 {
			l.add(nodePos(n), "%s: must not be negative", path)
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		if n.Kind != yaml.SequenceNode {
			l.add(nodePos(n), "%s: want a list, e.g. [a, b], got %s", path, describe(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				l.add(nodePos(item), "%s[%d]: want a string, got %s", path, i, describe(item))
				continue
			}
			out = reflect.Append(out, reflect.ValueOf(item.Value).Convert(v.Type().Elem()))
		}
		v.Set(out)
	default:
		// A programming error in config.go, not a user error.
		l.add(nodePos(n), "%s: cannot read into %s", path, v.Type())
	}
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// describe names a node's kind for messages: "a list", "a mapping", "the string "x"".
func describe(n *yaml.Node) string {
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
