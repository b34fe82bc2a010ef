package yamlconf

import (
	"reflect"
	"strings"
)

// Schemer is a type whose YAML form is not what its Go kind suggests (a byte size is
// an integer or a string such as 4MiB), so it describes its own JSON Schema.
type Schemer interface {
	JSONSchema() map[string]any
}

var schemerType = reflect.TypeFor[Schemer]()

// DurationPattern matches the durations ParseDuration reads.
const DurationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// StructSchema describes struct type t as a JSON Schema (draft-07) object under the
// decoder's rules: its keys, their doc, enum and required tags as description, enum and
// required, and no other keys.
func StructSchema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := Name(f)
		if name == "" {
			continue
		}
		p := TypeSchema(f.Type)
		if doc := f.Tag.Get("doc"); doc != "" {
			p["description"] = doc
		}
		if enum := f.Tag.Get("enum"); enum != "" {
			p["enum"] = strings.Split(enum, ",")
		}
		if f.Tag.Get("required") == "true" {
			required = append(required, name)
		}
		props[name] = p
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// TypeSchema describes a value of type t.
func TypeSchema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Implements(schemerType):
		return reflect.Zero(t).Interface().(Schemer).JSONSchema()
	case reflect.PointerTo(t).Implements(schemerType):
		return reflect.New(t).Interface().(Schemer).JSONSchema()
	case t == durationType:
		return map[string]any{"type": "string", "pattern": DurationPattern}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": TypeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": TypeSchema(t.Elem())}
	case reflect.Struct:
		return StructSchema(t)
	}
	return map[string]any{}
}
