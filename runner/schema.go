package runner

import (
	"reflect"

	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
)

// SchemaFile is where the JSON Schema for spout.yaml is shipped, relative to the
// repository root. TestSchemaFileIsCurrent keeps it in step with the Go types.
const SchemaFile = "docs/spout.schema.json"

// JSONSchema returns the JSON Schema for spout.yaml, with the options of every sink type
// registered with sink.DefaultRegistry (the runner imports the four destinations).
func JSONSchema() ([]byte, error) {
	return config.Schema(sink.DefaultRegistry.Configs(), reflect.TypeFor[sink.Common]())
}
