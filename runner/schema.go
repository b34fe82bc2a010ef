package runner

import (
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/sink/file"
	"github.com/spoutdev/spout/sink/postgres"
	"github.com/spoutdev/spout/sink/s3"
	"github.com/spoutdev/spout/sink/webhook"
)

// SchemaFile is where the JSON Schema for spout.yaml is shipped, relative to the
// repository root. TestSchemaFileIsCurrent keeps it in step with the Go types.
const SchemaFile = "docs/spout.schema.json"

// JSONSchema returns the JSON Schema for spout.yaml, sink options included.
func JSONSchema() ([]byte, error) {
	return config.Schema(map[string]any{
		"file":     file.Config{},
		"postgres": postgres.Config{},
		"s3":       s3.Config{},
		"webhook":  webhook.Config{},
	}, sink.Common{})
}
