package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/spoutdev/spout/internal/yamlconf"
)

// SchemaID is where the schema is published in the repository.
const SchemaID = "https://raw.githubusercontent.com/spoutdev/spout/main/docs/spout.schema.json"

// Schema returns a JSON Schema (draft-07) for spout.yaml, generated from the types of this
// package, so that editors can complete and check the file. sinkTypes maps each sink type
// to its options struct (sink.Registry.Configs); common is the struct of options every
// sink takes (sink.Common). The runner supplies both, because this package knows no sink
// types.
func Schema(sinkTypes map[string]reflect.Type, common reflect.Type) ([]byte, error) {
	sink := sinkSchema(sinkTypes, common)
	props := obj{}
	var required []string
	for _, s := range sections {
		props[s.key] = s.schema(sink)
		if s.required {
			required = append(required, s.key)
		}
	}
	s := obj{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"$id":                  SchemaID,
		"title":                "spout.yaml",
		"description":          "Spout runner configuration: connections, sinks and queries (docs/config.md).",
		"type":                 "object",
		"additionalProperties": false,
		"required":             required,
		"properties":           props,
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

func connectionsSchema(obj) obj {
	return obj{
		"description":          "Connections by name, in order: the first of a plugin is where its unqualified tables resolve, unless an aggregator exists.",
		"type":                 "object",
		"propertyNames":        obj{"pattern": identPattern.String()},
		"additionalProperties": yamlconf.StructSchema(reflect.TypeFor[Connection]()),
	}
}

func organizationSchema(obj) obj {
	return withDoc(yamlconf.StructSchema(reflect.TypeFor[Organization]()),
		"AWS Organizations discovery: one connection aws_<account id> per active member account, plus the aggregator aws.")
}

func schedulesSchema(obj) obj {
	return obj{
		"description":          "Schedule groups: group name → EventBridge expression. Each group becomes one scheduled task running spout run --schedule GROUP.",
		"type":                 "object",
		"propertyNames":        obj{"pattern": groupPattern.String()},
		"additionalProperties": obj{"type": "string", "pattern": `^\s*(cron|rate)\(.*\)\s*$`},
	}
}

func sinksSchema(sink obj) obj {
	return obj{
		"description":          "Sinks by name: where results go.",
		"type":                 "object",
		"propertyNames":        obj{"pattern": sinkNamePattern.String()},
		"additionalProperties": sink,
	}
}

func queriesSchema(obj) obj {
	return obj{
		"type":  "array",
		"items": yamlconf.StructSchema(reflect.TypeFor[Query]()),
	}
}

func stateSchema(obj) obj {
	return withDoc(yamlconf.StructSchema(reflect.TypeFor[State]()),
		"Where diffed queries keep the snapshot of their last delivered result: a PostgreSQL table or S3 objects.")
}

func runSchema(obj) obj {
	return withDoc(yamlconf.StructSchema(reflect.TypeFor[Run]()), "Settings of a run as a whole.")
}

// sinkSchema allows any registered type and, per type, exactly its options and the
// common ones.
func sinkSchema(types map[string]reflect.Type, common reflect.Type) obj {
	names := slices.Sorted(maps.Keys(types))
	commonProps := yamlconf.StructSchema(common)["properties"].(obj)
	var cases []any
	for _, n := range names {
		props := maps.Clone(commonProps)
		maps.Copy(props, yamlconf.StructSchema(types[n])["properties"].(obj))
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
