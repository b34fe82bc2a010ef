package runner

import (
	"context"
	"fmt"
	"maps"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/runner/discovery"
)

// conn is one connection the engine gets: plain (hcl) or an aggregator (members).
type conn struct {
	name, plugin, hcl string
	members           []string // aggregator patterns; nil for a plain connection
}

// staticConnections are the connections spout.yaml lists, in file order.
func staticConnections(cfg *config.Config) []conn {
	var out []conn
	for _, c := range cfg.Connections {
		if c.Aggregator() {
			out = append(out, conn{name: c.Name, plugin: c.Plugin, members: c.Connections})
		} else {
			out = append(out, conn{name: c.Name, plugin: c.Plugin, hcl: c.Config})
		}
	}
	return out
}

// accountConnections are the discovered accounts that are ready, and the aggregator
// over exactly them. They go first: with discovery, unqualified tables mean every
// account.
func accountConnections(accounts []discovery.Account) []conn {
	var out []conn
	var names []string
	for _, a := range accounts {
		out = append(out, conn{name: a.Connection, plugin: "aws", hcl: a.HCL})
		names = append(names, a.Connection)
	}
	if len(names) == 0 {
		return nil
	}
	return append([]conn{{name: config.AggregatorName, plugin: "aws", members: names}}, out...)
}

var accountRef = regexp.MustCompile(`\b` + config.AccountConnectionPrefix + `\d{12}\b`)

// standInAccounts stand for the accounts discovery would find, so that queries plan
// without calling AWS: one generic account plus every account connection a query names.
func standInAccounts(cfg *config.Config) []discovery.Account {
	names := []string{config.AccountConnectionPrefix + "000000000000"}
	for _, q := range cfg.Queries {
		names = append(names, accountRef.FindAllString(q.Text, -1)...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	o := cfg.Organization
	var out []discovery.Account
	for _, n := range names {
		var b strings.Builder
		if len(o.Regions) > 0 {
			b.WriteString("regions = [")
			for i, r := range o.Regions {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%q", r)
			}
			b.WriteString("]\n")
		}
		if extra := strings.TrimSpace(o.Config); extra != "" {
			b.WriteString(extra + "\n")
		}
		out = append(out, discovery.Account{Connection: n, HCL: b.String()})
	}
	return out
}

func standInConnections(cfg *config.Config) []conn { return accountConnections(standInAccounts(cfg)) }

// newEngine starts the query engine over conns with the run's settings.
func newEngine(ctx context.Context, cfg *config.Config, plugins map[string]query.PluginFunc, conns []conn, extra []query.Option) (*query.Engine, error) {
	var opts []query.Option
	used := map[string]bool{}
	for _, c := range conns {
		used[c.plugin] = true
	}
	for _, name := range slices.Sorted(maps.Keys(plugins)) {
		if used[name] {
			opts = append(opts, query.WithPlugin(name, plugins[name]))
		}
	}
	for _, c := range conns {
		if c.members != nil {
			opts = append(opts, query.WithAggregator(c.name, c.plugin, c.members...))
		} else {
			opts = append(opts, query.WithConnection(c.name, c.plugin, c.hcl))
		}
	}
	if cfg.Run.QueryCacheMB > 0 {
		opts = append(opts, query.WithQueryCache(cfg.Run.QueryCacheMB))
	}
	if cfg.Run.MemoryLimit != "" {
		opts = append(opts, query.WithMemoryLimit(cfg.Run.MemoryLimit))
	}
	// A plugin scan holds a SQL engine thread while it waits for the API, so with fewer
	// threads than queries running at once, a query with a handful of API calls waits
	// behind another's thousands.
	opts = append(opts, query.WithThreads(max(runtime.GOMAXPROCS(0), concurrency(cfg))))
	return query.New(ctx, append(opts, extra...)...)
}

// memberCounts says how many plain connections each aggregator of conns fans out over,
// matching its patterns the way the engine does.
func memberCounts(conns []conn) map[string]int {
	out := map[string]int{}
	for _, agg := range conns {
		if agg.members == nil {
			continue
		}
		for _, c := range conns {
			if c.members != nil || c.plugin != agg.plugin {
				continue
			}
			if slices.ContainsFunc(agg.members, func(p string) bool { ok, _ := path.Match(p, c.name); return ok }) {
				out[agg.name]++
			}
		}
	}
	return out
}
