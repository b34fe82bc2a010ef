package config

import (
	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/yamlconf"
)

// decode reads the mapping n into the struct v points at with the strict decoder of
// internal/yamlconf (its tags: yaml, required, enum, doc), reporting every problem.
// path names the entry in messages, e.g. "queries[2]". Each struct that embeds node
// keeps the positions of its keys for the checks made after parsing.
func (l *errorList) decode(n *yaml.Node, v any, path string) {
	d := yamlconf.Decoder{Seen: func(v any, m yamlconf.Mapping) {
		if s, ok := v.(interface{ setNode(node) }); ok {
			s.setNode(node{pos: nodePos(m.Node), values: m.Values, keys: m.Keys, bad: m.Bad})
		}
	}}
	d.Decode(n, path, v)
	for _, e := range d.Errors() {
		l.add(Pos{Line: e.Line, Column: e.Column}, "%s", e.Text())
	}
}

// UnmarshalYAML reads a duration written as in Go: 90s, 5m, 1h30m.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseDuration(n)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// JSONSchema describes a Duration for docs/spout.schema.json.
func (Duration) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "pattern": yamlconf.DurationPattern}
}

var _ yaml.Unmarshaler = (*Duration)(nil)
