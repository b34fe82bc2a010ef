package config

import (
	"fmt"
	"slices"

	"github.com/spoutdev/spout/internal/didyoumean"
)

// Select returns the queries a run executes, in file order: those named in names (any
// query, enabled or not), else the enabled ones, narrowed to schedule group when one is
// given. Naming an unknown query or group is an error, and so is a selection that is
// empty.
func (c *Config) Select(names []string, group string) ([]*Query, error) {
	for _, n := range names {
		if c.Query(n) == nil {
			return nil, fmt.Errorf("no query is called %q%s", n, didyoumean.HintOrKnown(n, c.queryNames()))
		}
	}
	if group != "" && !slices.ContainsFunc(c.Schedules, func(s *Schedule) bool { return s.Group == group }) {
		return nil, fmt.Errorf("no schedule group is called %q%s", group, didyoumean.HintOrKnown(group, scheduleGroups(c)))
	}
	var out []*Query
	for _, q := range c.Queries {
		switch {
		case len(names) > 0 && !slices.Contains(names, q.Name):
		case len(names) == 0 && !q.IsEnabled():
		case group != "" && q.Schedule != group:
		default:
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no enabled query matches the selection (queries %v, schedule %q)", names, group)
	}
	return out, nil
}

func (c *Config) queryNames() []string {
	out := make([]string, len(c.Queries))
	for i, q := range c.Queries {
		out[i] = q.Name
	}
	return out
}
