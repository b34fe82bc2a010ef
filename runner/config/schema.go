package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// SchemaID is where the schema is published in the repository.
const SchemaID = "https://raw.githubusercontent.com/spoutdev/spout/main/docs/spout.schema.json"

// Schema returns a JSON Schema (draft-07) for spout.yaml, generated from the types of this
// package, so that editors can complete and check the file. sinkTypes maps each sink type
// to its options struct (e.g. "postgres" → postgres.Config{}); common is the struct of
// options every sink takes (sink.Common). The runner supplies both, because this package
// knows no sink types.
func Schema(sinkTypes map[string]any, common any) ([]byte, error) {
	s := obj{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"$id":                  SchemaID,
		"title":                "spout.yaml",
		"description":          "Spout runner configuration: connections, sinks and queries (docs/config.md).",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"queries"},
		"properties": obj{
			"connections": obj{
				"description":          "Connections by name, in order: the first of a plugin is where its unqualified tables resolve, unless an aggregator exists.",
				"type":                 "object",
				"propertyNames":        obj{"pattern": identPattern.String()},
				"additionalProperties": structSchema(reflect.TypeFor[Connection]()),
			},
			"organization": withDoc(structSchema(reflect.TypeFor[Organization]()),
				"AWS Organizations discovery: one connection aws_<account id> per active member account, plus the aggregator aws."),
			"schedules": obj{
				"description":          "Schedule groups: group name → EventBridge expression. Each group becomes one scheduled task running spout run --schedule GROUP.",
				"type":                 "object",
				"propertyNames":        obj{"pattern": groupPattern.String()},
				"additionalProperties": obj{"type": "string", "pattern": `^\s*(cron|rate)\(.*\)\s*$`},
			},
			"sinks": obj{
				"description":          "Sinks by name: where results go.",
				"type":                 "object",
				"propertyNames":        obj{"pattern": sinkNamePattern.String()},
				"additionalProperties": sinkSchema(sinkTypes, common),
			},
			"queries": obj{
				"type":  "array",
				"items": structSchema(reflect.TypeFor[Query]()),
			},
			"run": withDoc(structSchema(reflect.TypeFor[Run]()), "Settings of a run as a whole."),
		},
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type obj = map[string]any

func withDoc(s obj, doc string) obj {
	s["description"] = doc
	return s
}

// sinkSchema allows any registered type and, per type, exactly its options and the
// common ones.
func sinkSchema(types map[string]any, common any) obj {
	names := slices.Sorted(maps.Keys(types))
	commonProps := structSchema(reflect.TypeOf(common))["properties"].(obj)
	var cases []any
	for _, n := range names {
		props := maps.Clone(commonProps)
		maps.Copy(props, structSchema(reflect.TypeOf(types[n]))["properties"].(obj))
		props["type"] = obj{"const": n}
		cases = append(cases, obj{
			"if":   obj{"properties": obj{"type": obj{"const": n}}},
			"then": obj{"properties": props, "additionalProperties": false},
		})
	}
	return obj{
		"type":     "object",
		"required": []string{"type"},
		"properties": obj{
			"type": obj{"enum": names, "description": "The destination: " + strings.Join(names, ", ") + "."},
		},
		"allOf": cases,
	}
}

var (
	timeDurationType = reflect.TypeFor[time.Duration]()
	durationPattern  = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
)

// structSchema describes a struct by its yaml tags: its doc, enum and required tags
// become description, enum and required.
func structSchema(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	props := obj{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		p := typeSchema(f.Type)
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
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func typeSchema(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType || t == timeDurationType:
		return obj{"type": "string", "pattern": durationPattern}
	case t.Name() == "ByteSize":
		// sink.ByteSize: a number of bytes, or a size with a unit (4MiB).
		return obj{"type": []string{"integer", "string"}}
	}
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return obj{"type": "integer", "minimum": 0}
	case reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice:
		return obj{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	return obj{}
}
