package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/didyoumean"
)

var (
	// Connection and query names become SQL schema names and table names.
	identPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	// Sink names appear in logs and templates only.
	sinkNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)
	// Schedule groups become CDK construct ids and the task's --schedule argument; the
	// CDK app (cdk/spoutcdk/config.go) applies the same rule.
	groupPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	accountPattern     = regexp.MustCompile(`^\d{12}$`)
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	memoryLimitPattern = regexp.MustCompile(`(?i)^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$`)
	// discoveredName is what an account connection made by discovery is called.
	discoveredName = regexp.MustCompile(`^` + AccountConnectionPrefix + `\d{12}$`)
)

// standInAccount names the connection that stands for "any discovered account" when
// aggregator patterns are checked before discovery has run.
const standInAccount = AccountConnectionPrefix + "000000000000"

// check applies the rules that relate entries to each other.
func (p *parser) check(cfg *Config, root *yaml.Node) {
	if len(cfg.Connections) == 0 && cfg.Organization == nil {
		p.add(nodePos(root), "no connections: add one under connections, or organization discovery")
		cfg.connsBroken = true
	}
	// No queries is not a parse error: spout serve needs none. Validation, for run,
	// asks for them (runner.Validate).
	if p.failed(func() { p.checkConnections(cfg); p.checkOrganization(cfg) }) {
		cfg.connsBroken = true
	}
	for _, s := range cfg.Schedules {
		if !groupPattern.MatchString(s.Group) {
			p.add(s.pos, "schedules.%s: group names use letters, digits, '-' and '_' (at most 64)", s.Group)
		}
		e := s.Expression
		if e != "" && !((strings.HasPrefix(e, "cron(") || strings.HasPrefix(e, "rate(")) && strings.HasSuffix(e, ")")) {
			p.add(s.ValuePos(""), "schedules.%s: %q is not an EventBridge schedule: use cron(...) or rate(...)", s.Group, e)
		}
	}
	for _, s := range cfg.Sinks {
		if !sinkNamePattern.MatchString(s.Name) {
			p.add(s.pos, "sinks.%s: sink names start with a letter and use letters, digits, '-' and '_'", s.Name)
		}
	}
	p.checkQueries(cfg)
	p.checkState(cfg)
	if cfg.Run.MemoryLimit != "" && !memoryLimitPattern.MatchString(cfg.Run.MemoryLimit) {
		p.add(cfg.Run.ValuePos("memory_limit"), "run.memory_limit: %q is not a size such as 256MB or 1GB", cfg.Run.MemoryLimit)
	}
	p.checkSinkRefs(cfg, cfg.Run.node, "run.manifest_sinks", "manifest_sinks", cfg.Run.ManifestSinks)
}

func (p *parser) checkConnections(cfg *Config) {
	for _, c := range cfg.Connections {
		where := "connections." + c.Name
		if !identPattern.MatchString(c.Name) {
			p.add(c.pos, "%s: connection names start with a lower-case letter and use lower-case letters, digits and '_'", where)
		}
		if c.Aggregator() {
			if len(c.Connections) == 0 {
				p.add(c.pos, "%s: an aggregator needs connections, the names or globs (aws_*) of its members", where)
			}
			if c.Config != "" {
				p.add(c.KeyPos("config"), "%s: an aggregator has no config of its own; its members have", where)
			}
			p.checkMembers(cfg, c)
			continue
		}
		if len(c.Connections) > 0 {
			p.add(c.KeyPos("connections"), "%s: only an aggregator has connections (add type: aggregator)", where)
		}
	}
}

// checkMembers makes sure each aggregator pattern is a valid glob that matches a
// connection of the aggregator's plugin, counting the accounts discovery will add.
func (p *parser) checkMembers(cfg *Config, agg *Connection) {
	names := []string{}
	for _, c := range cfg.Connections {
		if !c.Aggregator() && c.Plugin == agg.Plugin {
			names = append(names, c.Name)
		}
	}
	if cfg.Organization != nil && agg.Plugin == "aws" {
		names = append(names, standInAccount)
	}
	for i, pat := range agg.Connections {
		if _, err := path.Match(pat, ""); err != nil {
			p.add(agg.ItemPos("connections", i), "connections.%s: %q is not a valid glob", agg.Name, pat)
			continue
		}
		matched := slices.ContainsFunc(names, func(n string) bool { ok, _ := path.Match(pat, n); return ok })
		if !matched {
			p.add(agg.ItemPos("connections", i), "connections.%s: %q matches no %s connection", agg.Name, pat, agg.Plugin)
		}
	}
}

func (p *parser) checkOrganization(cfg *Config) {
	o := cfg.Organization
	if o == nil {
		return
	}
	if o.RoleName != "" && !roleNamePattern.MatchString(o.RoleName) {
		p.add(o.ValuePos("role_name"), "organization.role_name: %q is not an IAM role name", o.RoleName)
	}
	for i, id := range o.Exclude {
		if !accountPattern.MatchString(id) {
			p.add(o.ItemPos("exclude", i), "organization.exclude: %q is not a 12-digit account id (quote ids in YAML: \"012345678901\")", id)
		}
	}
	if o.EndpointURL != "" && !strings.HasPrefix(o.EndpointURL, "http://") && !strings.HasPrefix(o.EndpointURL, "https://") {
		p.add(o.ValuePos("endpoint_url"), "organization.endpoint_url: %q is not an http(s) URL", o.EndpointURL)
	}
	for _, c := range cfg.Connections {
		if c.Name == AggregatorName || discoveredName.MatchString(c.Name) {
			p.add(c.pos, "connections.%s: organization discovery creates this connection; rename it", c.Name)
		}
	}
}

func (p *parser) checkQueries(cfg *Config) {
	seen := map[string]*Query{}
	schedules := map[string]bool{}
	for _, s := range cfg.Schedules {
		schedules[s.Group] = true
	}
	for i, q := range cfg.Queries {
		p.checkQuery(cfg, i, q, seen, schedules)
	}
}

func (p *parser) checkQuery(cfg *Config, i int, q *Query, seen map[string]*Query, schedules map[string]bool) {
	where := fmt.Sprintf("queries[%d]", i)
	if q.Name != "" {
		where = fmt.Sprintf("queries[%d] (%s)", i, q.Name)
		if !identPattern.MatchString(q.Name) {
			p.add(q.ValuePos("name"), "%s: query names start with a lower-case letter and use lower-case letters, digits and '_' (sinks make table names of them)", where)
		}
		if first, dup := seen[q.Name]; dup {
			p.add(q.ValuePos("name"), "%s: another query is called %s (line %d)", where, q.Name, first.ValuePos("name").Line)
		} else {
			seen[q.Name] = q
		}
	}
	switch {
	case q.SQL == "" && q.SQLFile == "":
		p.add(q.pos, "%s: give the query as sql or sql_file", where)
	case q.SQL != "" && q.SQLFile != "":
		p.add(q.KeyPos("sql_file"), "%s: give sql or sql_file, not both", where)
	}
	if q.ok("sinks") && len(q.Sinks) == 0 {
		p.add(q.ValuePos("sinks"), "%s: sinks is empty: name at least one sink", where)
	}
	p.checkSinkRefs(cfg, q.node, where+": sinks", "sinks", q.Sinks)
	if q.Schedule != "" && !schedules[q.Schedule] {
		p.add(q.ValuePos("schedule"), "%s: schedule %q is not defined under schedules%s", where, q.Schedule, didyoumean.HintOrKnown(q.Schedule, scheduleGroups(cfg)))
	}
	if q.ok("timeout") && q.Timeout <= 0 {
		p.add(q.ValuePos("timeout"), "%s: timeout must be positive", where)
	}
	p.checkDiff(cfg, where, q)
}

// checkSinkRefs checks the sink names listed under key of n.
func (p *parser) checkSinkRefs(cfg *Config, n node, where, key string, names []string) {
	seen := map[string]bool{}
	for i, name := range names {
		switch {
		case seen[name]:
			p.add(n.ItemPos(key, i), "%s: %s is listed twice", where, name)
		case cfg.Sink(name) == nil:
			p.add(n.ItemPos(key, i), "%s: unknown sink %q%s", where, name, didyoumean.HintOrKnown(name, sinkNames(cfg)))
		}
		seen[name] = true
	}
}

func sinkNames(cfg *Config) []string {
	out := make([]string, len(cfg.Sinks))
	for i, s := range cfg.Sinks {
		out[i] = s.Name
	}
	return out
}

func scheduleGroups(cfg *Config) []string {
	out := make([]string, len(cfg.Schedules))
	for i, s := range cfg.Schedules {
		out[i] = s.Group
	}
	return out
}

// readSQL sets each query's Text from sql or sql_file, with the position of its first
// character for errors inside the SQL.
func (p *parser) readSQL(cfg *Config) {
	for _, q := range cfg.Queries {
		switch {
		case q.SQL != "" && q.SQLFile == "":
			q.Text = q.SQL
			q.TextFile = cfg.File
			q.textPos = p.sqlPos(q.values["sql"])
		case q.SQLFile != "" && q.SQL == "":
			file := q.SQLFile
			if !filepath.IsAbs(file) {
				file = filepath.Join(cfg.Dir, file)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				p.add(q.ValuePos("sql_file"), "queries (%s): sql_file: %v", q.Name, err)
				continue
			}
			if strings.TrimSpace(string(b)) == "" {
				p.add(q.ValuePos("sql_file"), "queries (%s): sql_file %s is empty", q.Name, q.SQLFile)
				continue
			}
			q.Text = string(b)
			q.TextFile = file
			q.textPos = sqlPos{line: 1, col: 1, literal: true}
		}
	}
}

// sqlPos says how positions in a SQL value map to positions in the file.
type sqlPos struct {
	line, col int  // the first character of the SQL
	literal   bool // lines map one to one, each starting at column col (a | block, a file)
}

func (p *parser) sqlPos(n *yaml.Node) sqlPos {
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		// The text starts on the line after the | indicator, at its indentation.
		line := n.Line + 1
		for line <= len(p.src) && strings.TrimSpace(p.src[line-1]) == "" {
			line++
		}
		indent := 0
		if line <= len(p.src) {
			indent = len(p.src[line-1]) - len(strings.TrimLeft(p.src[line-1], " "))
		}
		return sqlPos{line: line, col: indent + 1, literal: true}
	case n.Style&yaml.FoldedStyle != 0:
		// Folding joins lines, so only the block's start is known for sure.
		return sqlPos{line: n.Line + 1, col: 1}
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return sqlPos{line: n.Line, col: n.Column + 1}
	}
	return sqlPos{line: n.Line, col: n.Column}
}

// SQLPos maps a 1-based line and column in q.Text to the file and position to report.
// Line 0 (an error without a location) maps to the start of the SQL.
func (q *Query) SQLPos(line, col int) (file string, p Pos) {
	sp := q.textPos
	switch {
	case line <= 0:
		return q.TextFile, Pos{sp.line, sp.col}
	case sp.literal:
		return q.TextFile, Pos{sp.line + line - 1, sp.col + col - 1}
	case line == 1:
		return q.TextFile, Pos{sp.line, sp.col + col - 1}
	}
	return q.TextFile, Pos{sp.line, sp.col}
}
