package spoutcdk

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// runnerConfig is the part of spout.yaml that shapes the deployment. The runner owns the
// full schema (runner/ in the root module); this module reads only these keys instead of
// importing the root module, which needs cgo for DuckDB. Unknown keys are ignored for the
// same reason: the runner validates them when it starts.
type runnerConfig struct {
	Schedules    map[string]string     `yaml:"schedules"`
	Organization *organizationConfig   `yaml:"organization"`
	Sinks        map[string]sinkConfig `yaml:"sinks"`
	Queries      []queryConfig         `yaml:"queries"`
	State        *stateConfig          `yaml:"state"`
}

// stateConfig is the runner's state store (diffed queries); only an s3 one needs a grant.
type stateConfig struct {
	Type   string `yaml:"type"`
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
}

type organizationConfig struct {
	RoleName string `yaml:"role_name"`
}

type sinkConfig struct {
	Type   string `yaml:"type"`
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
}

type queryConfig struct {
	Name     string `yaml:"name"`
	Schedule string `yaml:"schedule"`
}

// deployment is what the construct needs to know from spout.yaml.
type deployment struct {
	schedules     []schedule // sorted by group, so the template is deterministic
	discovery     bool       // organization discovery is on: the task lists accounts
	queryRoleName string     // organization.role_name, "" when not set
	s3Objects     []string   // "bucket/prefix" of every s3 sink, sorted, deduplicated
	stateBucket   string     // the s3 state store's bucket, "" without one
	statePrefix   string     // its key prefix, as granted
	warnings      []string   // findings that do not stop synth
}

type schedule struct {
	group      string
	expression string
}

var (
	// Schedule groups become construct ids and the task's `--schedule` argument.
	groupPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	envRef       = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// parseConfig reads the deployment-relevant parts of spout.yaml. env holds the plain
// environment the task will get; it resolves ${VAR} in s3 sink buckets and prefixes,
// because the task role's grant needs the bucket name at synth time. secrets names the
// variables ECS injects from Secrets Manager.
func parseConfig(text string, env map[string]string, secrets map[string]SecretRef) (*deployment, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return nil, propErrorf("Config", "%v", err)
	}
	var cfg runnerConfig
	if err := root.Decode(&cfg); err != nil {
		return nil, propErrorf("Config", "%v", err)
	}
	d := &deployment{}
	for _, name := range envReferences(&root) {
		_, inEnv := env[name]
		_, inSecrets := secrets[name]
		if !inEnv && !inSecrets {
			d.warnings = append(d.warnings, fmt.Sprintf("the config reads $%s, which neither Environment nor Secrets sets", name))
		}
	}

	if len(cfg.Schedules) == 0 {
		return nil, propErrorf("Config", "no schedule groups: add a `schedules:` map (group: cron(...) or rate(...)); each group becomes one scheduled task")
	}
	for _, group := range slices.Sorted(maps.Keys(cfg.Schedules)) {
		expr := strings.TrimSpace(cfg.Schedules[group])
		if !groupPattern.MatchString(group) {
			return nil, propErrorf("Config", "schedules.%s: group names may use letters, digits, '-' and '_' (at most 64)", group)
		}
		if !(strings.HasPrefix(expr, "cron(") || strings.HasPrefix(expr, "rate(")) || !strings.HasSuffix(expr, ")") {
			return nil, propErrorf("Config", "schedules.%s: %q is not an EventBridge schedule: use cron(...) or rate(...)", group, expr)
		}
		d.schedules = append(d.schedules, schedule{group: group, expression: expr})
	}

	used := map[string]bool{}
	for i, q := range cfg.Queries {
		if q.Schedule == "" {
			d.warnings = append(d.warnings, fmt.Sprintf("query %q has no schedule group, so no scheduled task runs it", q.Name))
			continue
		}
		if _, ok := cfg.Schedules[q.Schedule]; !ok {
			return nil, propErrorf("Config", "queries[%d] (%s): schedule %q is not defined under schedules", i, q.Name, q.Schedule)
		}
		used[q.Schedule] = true
	}
	for _, s := range d.schedules {
		if !used[s.group] {
			d.warnings = append(d.warnings, fmt.Sprintf("schedule group %q has no queries; its task will run and do nothing", s.group))
		}
	}

	if cfg.Organization != nil {
		d.discovery = true
		d.queryRoleName = cfg.Organization.RoleName
	}

	for _, name := range slices.Sorted(maps.Keys(cfg.Sinks)) {
		sink := cfg.Sinks[name]
		if sink.Type != "s3" {
			continue
		}
		bucket, err := expand(sink.Bucket, env)
		if err != nil {
			return nil, propErrorf("Config", "sinks.%s.bucket: %v", name, err)
		}
		if bucket == "" {
			return nil, propErrorf("Config", "sinks.%s.bucket: an s3 sink needs a bucket", name)
		}
		if strings.ContainsAny(bucket, "/*") {
			return nil, propErrorf("Config", "sinks.%s.bucket: %q is not a bucket name", name, bucket)
		}
		prefix, err := expand(sink.Prefix, env)
		if err != nil {
			return nil, propErrorf("Config", "sinks.%s.prefix: %v", name, err)
		}
		d.s3Objects = append(d.s3Objects, bucket+"/"+grantPrefix(prefix))
	}
	slices.Sort(d.s3Objects)
	d.s3Objects = slices.Compact(d.s3Objects)

	if st := cfg.State; st != nil && st.Type == "s3" {
		bucket, err := expand(st.Bucket, env)
		if err != nil {
			return nil, propErrorf("Config", "state.bucket: %v", err)
		}
		if bucket == "" || strings.ContainsAny(bucket, "/*") {
			return nil, propErrorf("Config", "state.bucket: %q is not a bucket name", bucket)
		}
		prefix, err := expand(st.Prefix, env)
		if err != nil {
			return nil, propErrorf("Config", "state.prefix: %v", err)
		}
		d.stateBucket, d.statePrefix = bucket, grantPrefix(prefix)
	}
	return d, nil
}

// envReferences lists, sorted and once each, the environment variables the config reads:
// ${VAR} in any value, and the value of any key ending in "_env" (e.g. dsn_env). Comments
// are not values, so a ${VAR} in a comment is not a reference.
func envReferences(root *yaml.Node) []string {
	var names []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			for _, m := range envRef.FindAllStringSubmatch(n.Value, -1) {
				names = append(names, m[1])
			}
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if strings.HasSuffix(k.Value, "_env") && v.Kind == yaml.ScalarNode && envNamePattern.MatchString(v.Value) {
					names = append(names, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	slices.Sort(names)
	return slices.Compact(names)
}

// grantPrefix is the literal part of a key prefix: everything before the first template
// action (a prefix like "spout/{{.Query}}/" can only be granted as "spout/").
func grantPrefix(prefix string) string {
	prefix = strings.TrimPrefix(prefix, "/")
	if i := strings.Index(prefix, "{{"); i >= 0 {
		prefix = prefix[:i]
	}
	return prefix
}

// expand resolves ${VAR} from env. A variable the task will not get as plain environment
// (a secret, or nothing) cannot be known at synth time, so it is an error rather than a
// grant on the wrong bucket.
func expand(s string, env map[string]string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("${%s} must be set in Environment: the task role's s3 grant needs its value at synth time", missing[0])
	}
	return strings.TrimSpace(out), nil
}
