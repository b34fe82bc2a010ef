package runner_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoutdev/spout/runner"
)

var update = flag.Bool("update", false, "rewrite "+runner.SchemaFile+" from the Go types")

// The shipped schema is generated from the Go types; regenerate it with
// go test ./runner -run TestSchemaFileIsCurrent -update
func TestSchemaFileIsCurrent(t *testing.T) {
	got, err := runner.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", runner.SchemaFile)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is stale: run go test ./runner -run TestSchemaFileIsCurrent -update", runner.SchemaFile)
	}

	var s map[string]any
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	q := props["queries"].(map[string]any)["items"].(map[string]any)
	if q["additionalProperties"] != false || q["properties"].(map[string]any)["sql_file"] == nil {
		t.Errorf("queries schema = %v", q)
	}
	sinks := props["sinks"].(map[string]any)["additionalProperties"].(map[string]any)
	cases := sinks["allOf"].([]any)
	if len(cases) != 4 {
		t.Fatalf("%d sink types in the schema, want 4", len(cases))
	}
	var pg map[string]any
	for _, c := range cases {
		then := c.(map[string]any)["then"].(map[string]any)
		p := then["properties"].(map[string]any)
		if p["type"].(map[string]any)["const"] == "postgres" {
			pg = p
		}
	}
	for _, k := range []string{"dsn_env", "table", "mode", "key", "batch", "retry", "timeout", "dead_letter"} {
		if pg[k] == nil {
			t.Errorf("postgres sink schema lacks %s: %v", k, pg)
		}
	}
	org := props["organization"].(map[string]any)
	if org["required"].([]any)[0] != "role_name" {
		t.Errorf("organization.role_name is not required: %v", org)
	}
}
