// Package cdkout reads a synthesized cloud assembly (a cdk.out directory) as plain JSON,
// the way the CDK CLI reads it, so tests need no deprecated jsii assembly types.
package cdkout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Message is one annotation on a construct: an error, warning or info, cdk-nag's included.
type Message struct {
	Level string // "error", "warning" or "info"
	Path  string // construct path, e.g. /Spout/Runner/TaskRole/Resource
	Text  string
}

type metadata map[string][]struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// Messages returns each stack's annotations, keyed by artifact id (the stack name for
// top-level stacks) and sorted by construct path.
func Messages(dir string) (map[string][]Message, error) {
	var manifest struct {
		Artifacts map[string]struct {
			Metadata               metadata `json:"metadata"`
			AdditionalMetadataFile string   `json:"additionalMetadataFile"`
		} `json:"artifacts"`
	}
	if err := readJSON(filepath.Join(dir, "manifest.json"), &manifest); err != nil {
		return nil, err
	}
	messages := map[string][]Message{}
	for id, artifact := range manifest.Artifacts {
		// Annotations sit in the manifest or, in newer CDK versions, in a file beside it.
		all := []metadata{artifact.Metadata}
		if artifact.AdditionalMetadataFile != "" {
			var more metadata
			if err := readJSON(filepath.Join(dir, artifact.AdditionalMetadataFile), &more); err != nil {
				return nil, err
			}
			all = append(all, more)
		}
		for _, md := range all {
			for path, entries := range md {
				for _, e := range entries {
					level, ok := strings.CutPrefix(e.Type, "aws:cdk:")
					if ok && (level == "error" || level == "warning" || level == "info") {
						messages[id] = append(messages[id], Message{Level: level, Path: path, Text: fmt.Sprint(e.Data)})
					}
				}
			}
		}
		slices.SortStableFunc(messages[id], func(a, b Message) int { return strings.Compare(a.Path, b.Path) })
	}
	return messages, nil
}

// Template returns a stack's synthesized CloudFormation template.
func Template(dir, stack string) (map[string]any, error) {
	var tmpl map[string]any
	err := readJSON(filepath.Join(dir, stack+".template.json"), &tmpl)
	return tmpl, err
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
