package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/didyoumean"
	"github.com/spoutdev/spout/internal/yamlconf"
)

// Environment variables that supply the configuration.
const (
	// EnvFile names the configuration file when no path is given.
	EnvFile = "SPOUT_CONFIG"
	// EnvYAML holds the configuration itself, plain or base64, so a container can receive
	// it without a volume. It is read when neither a path nor SPOUT_CONFIG is given.
	EnvYAML = "SPOUT_CONFIG_YAML"
)

// ErrNoConfig is returned by Load when no path is given and neither SPOUT_CONFIG nor
// SPOUT_CONFIG_YAML is set.
var ErrNoConfig = errors.New("no configuration: give -c spout.yaml, or set " + EnvFile + " or " + EnvYAML)

// Getenv looks up an environment variable; os.LookupEnv is the usual one.
type Getenv func(name string) (string, bool)

// Load reads the configuration from path, else from the file named by SPOUT_CONFIG, else
// from SPOUT_CONFIG_YAML, and parses it. Problems in the file are Errors; a file that
// cannot be read is an ordinary error.
func Load(path string, getenv Getenv) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	if path == "" {
		path, _ = getenv(EnvFile)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading configuration: %w", err)
		}
		return Parse(path, filepath.Dir(path), data, getenv)
	}
	text, ok := getenv(EnvYAML)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, ErrNoConfig
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse("$"+EnvYAML, dir, decodeInline(text), getenv)
}

// decodeInline accepts the configuration as plain YAML or as base64 of it. Base64 is
// tried only when the text has no character YAML would need and base64 lacks.
func decodeInline(text string) []byte {
	compact := strings.Join(strings.Fields(text), "")
	if !strings.ContainsAny(compact, ":\n") {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(compact); err == nil && utf8.Valid(b) {
				return b
			}
		}
	}
	return []byte(text)
}

// Parse parses data, the text of file. dir resolves relative sql_file paths; getenv
// expands ${VAR} references (an unset variable is an error unless the reference gives a
// default, ${VAR:-default}; $${ is a literal ${).
//
// Problems are returned as Errors. The Config is returned with them whenever the file
// is a YAML mapping, so that the checks made after parsing can still report on the parts
// that are sound (see ConnectionsOK and Query.OK); it must not be run.
func Parse(file, dir string, data []byte, getenv Getenv) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	p := &parser{errorList: errorList{file: file}, src: strings.Split(string(data), "\n"), getenv: getenv}
	cfg := &Config{File: file, Dir: dir}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.add(yamlErrorPos(err), "%s", yamlMessage(err))
		return nil, p.errs.Err()
	}
	if len(doc.Content) == 0 {
		p.add(Pos{1, 1}, "the configuration is empty: add connections, sinks and queries (see docs/config.md)")
		return nil, p.errs.Err()
	}
	root := yamlconf.Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.add(nodePos(root), "want a mapping with connections, sinks and queries, got %s", yamlconf.Describe(root))
		return nil, p.errs.Err()
	}
	cfg.envBroken = p.failed(func() { p.expand(root) })

	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlconf.Resolve(root.Content[i+1])
		if first, dup := seen[k.Value]; dup {
			p.add(nodePos(k), "%s is set twice (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		s := sectionNamed(k.Value)
		if s == nil {
			p.add(nodePos(k), "unknown key %q%s", k.Value, didyoumean.HintOrKnown(k.Value, sectionKeys()))
			continue
		}
		s.read(p, cfg, v)
	}
	p.check(cfg, root)
	p.readSQL(cfg)
	return cfg, p.errs.Err()
}

// A section is one top-level key of spout.yaml: how Parse reads it and how the JSON
// Schema describes it (see Schema). This table is the one list of them.
type section struct {
	key      string
	required bool
	read     func(p *parser, cfg *Config, v *yaml.Node)
	schema   func(sinks obj) obj // sinks: the schema of one sink entry
}

var sections = []section{
	{key: "connections", read: (*parser).connections, schema: connectionsSchema},
	{key: "organization", read: (*parser).organization, schema: organizationSchema},
	{key: "schedules", read: (*parser).schedules, schema: schedulesSchema},
	{key: "sinks", read: (*parser).sinks, schema: sinksSchema},
	{key: "queries", read: (*parser).queries, schema: queriesSchema}, // required unless serve is there (check)
	{key: "run", read: (*parser).run, schema: runSchema},
	{key: "state", read: (*parser).state, schema: stateSchema},
}

func sectionNamed(key string) *section {
	for i := range sections {
		if sections[i].key == key {
			return &sections[i]
		}
	}
	return nil
}

func sectionKeys() []string {
	keys := make([]string, len(sections))
	for i, s := range sections {
		keys[i] = s.key
	}
	return keys
}

type parser struct {
	errorList
	src    []string // the file's lines
	getenv Getenv
}

// mapping checks that n is a mapping for section and calls fn for each entry once,
// reporting duplicate keys.
func (p *parser) mapping(n *yaml.Node, section string, fn func(k, v *yaml.Node)) {
	if yamlconf.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.add(nodePos(n), "%s: want a mapping of names to entries, got %s", section, yamlconf.Describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlconf.Resolve(n.Content[i+1])
		if first, dup := seen[k.Value]; dup {
			p.add(nodePos(k), "%s: %s is defined twice (first at line %d)", section, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		fn(k, v)
	}
}

func (p *parser) connections(cfg *Config, n *yaml.Node) {
	broken := p.failed(func() {
		p.mapping(n, "connections", func(k, v *yaml.Node) {
			c := &Connection{Name: k.Value}
			p.decode(v, c, "connections."+k.Value)
			c.pos = nodePos(k)
			cfg.Connections = append(cfg.Connections, c)
		})
	})
	cfg.connsBroken = cfg.connsBroken || broken
}

func (p *parser) organization(cfg *Config, n *yaml.Node) {
	if yamlconf.IsNull(n) {
		return
	}
	cfg.Organization = &Organization{}
	broken := p.failed(func() { p.decode(n, cfg.Organization, "organization") })
	cfg.connsBroken = cfg.connsBroken || broken
}

func (p *parser) run(cfg *Config, n *yaml.Node) {
	if !yamlconf.IsNull(n) {
		p.decode(n, &cfg.Run, "run")
	}
}

func (p *parser) schedules(cfg *Config, n *yaml.Node) {
	p.mapping(n, "schedules", func(k, v *yaml.Node) {
		s := &Schedule{Group: k.Value, node: node{pos: nodePos(k)}}
		if v.Kind != yaml.ScalarNode || yamlconf.IsNull(v) {
			p.add(nodePos(v), "schedules.%s: want an EventBridge expression such as cron(0 6 * * ? *) or rate(1 hour), got %s", k.Value, yamlconf.Describe(v))
		} else {
			s.Expression = strings.TrimSpace(v.Value)
			s.values = map[string]*yaml.Node{"": v}
		}
		cfg.Schedules = append(cfg.Schedules, s)
	})
}

func (p *parser) sinks(cfg *Config, n *yaml.Node) {
	p.mapping(n, "sinks", func(k, v *yaml.Node) {
		s := &Sink{Name: k.Value, Node: v, node: node{pos: nodePos(k), values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}}
		if v.Kind != yaml.MappingNode {
			p.add(nodePos(v), "sinks.%s: want a mapping with type and the sink's options, got %s", k.Value, yamlconf.Describe(v))
			return
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			s.keys[v.Content[i].Value], s.values[v.Content[i].Value] = v.Content[i], v.Content[i+1]
		}
		if t, ok := s.values["type"]; ok && t.Kind == yaml.ScalarNode {
			s.Type = t.Value
		}
		cfg.Sinks = append(cfg.Sinks, s)
	})
}

func (p *parser) queries(cfg *Config, n *yaml.Node) {
	if yamlconf.IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(nodePos(n), "queries: want a list of queries (- name: ...), got %s", yamlconf.Describe(n))
		return
	}
	for i, item := range n.Content {
		q := &Query{}
		p.decode(item, q, fmt.Sprintf("queries[%d]", i))
		cfg.Queries = append(cfg.Queries, q)
	}
}

// envRef matches ${VAR} and ${VAR:-default}, and $${...}, which stays literal.
var envRef = regexp.MustCompile(`\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// expand replaces ${VAR} in every scalar value under n; ${VAR:-default} gives default
// when VAR is unset. Keys are names, not values, and are left alone.
func (p *parser) expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			if strings.HasPrefix(ref, "$$") {
				return ref[1:]
			}
			m := envRef.FindStringSubmatch(ref)
			name, def := m[1], m[2]
			v, ok := p.getenv(name)
			switch {
			case ok:
				return v
			case def != "":
				return def[2:]
			}
			p.add(p.find(n, ref), "environment variable %s is not set", name)
			return ""
		})
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			p.expand(n.Content[i])
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			p.expand(c)
		}
	}
}

// find locates text in the source at or after n, for errors inside a value (a block
// scalar spans many lines). It falls back to n's position.
func (p *parser) find(n *yaml.Node, text string) Pos {
	for line := n.Line; line >= 1 && line <= len(p.src); line++ {
		s := p.src[line-1]
		from := 0
		if line == n.Line {
			from = min(max(n.Column-1, 0), len(s))
		}
		if i := strings.Index(s[from:], text); i >= 0 {
			return Pos{Line: line, Column: utf8.RuneCountInString(s[:from+i]) + 1}
		}
	}
	return nodePos(n)
}

// yamlErrorPos reads the line from a yaml.v3 error ("yaml: line 4: ...").
func yamlErrorPos(err error) Pos {
	msg := yamlErrorText(err)
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		if num, _, ok := strings.Cut(rest, ":"); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return Pos{Line: line, Column: 1}
			}
		}
	}
	return Pos{1, 1}
}

// yamlMessage is a yaml.v3 error without its "yaml: line N:" prefix, which the
// position already gives.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(yamlErrorText(err), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			return after
		}
	}
	return msg
}

func yamlErrorText(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return te.Errors[0]
	}
	return err.Error()
}
