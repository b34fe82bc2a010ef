package runner

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
)

// Sharding splits one run between N processes (`spout run --shard I/N`), each running
// over its own part of the connections:
//
//   - Every plain connection belongs to exactly one shard, picked by a hash of its key:
//     a discovered account's id, or a static connection's name. The hash is rendezvous
//     (highest random weight) hashing, so a connection's shard depends only on its own
//     key and the shard count: accounts joining or leaving the organization never move
//     the others, and going from N to N+1 shards moves only the accounts the new shard
//     takes.
//   - Aggregators (organization discovery's "aws", or static ones) fan out over the
//     shard's own members only.
//   - A query that scans an aggregator runs on every shard; the union of the shards'
//     results is the unsharded result, exact for queries whose rows each come from one
//     account. A shard with no member of such a query's aggregator delivers an empty
//     result, so that a replacing sink drops what the shard held before.
//   - A query that scans plain connections only runs on one shard: the one owning them,
//     else (several owners, or no scan at all) the one owning the query's name.
//   - A static connection such a query (or a fan-out query) reads directly but another
//     shard owns is opened on every shard that needs it; it stays out of the shard's
//     aggregators, so its rows are never counted twice. A discovered account cannot be
//     opened outside its shard (its role is assumed there only): a query that would
//     need that is refused before the run.

// ParseShard reads a shard spec, "I/N" for shard I of N counted from 1 (the form
// SPOUT_SHARD takes); "" is an unsharded run.
func ParseShard(spec string) (sink.Shard, error) {
	if spec == "" {
		return sink.Shard{}, nil
	}
	i, n, ok := strings.Cut(strings.TrimSpace(spec), "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return sink.Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 2/4 for the second of four shards", spec)
	}
	s := sink.Shard{Index: index, Count: count}
	if err := validShard(s); err != nil {
		return sink.Shard{}, err
	}
	return s, nil
}

// maxShards bounds the shard count: far more than any organization needs, and small
// enough that a typo (4000 for 4) is caught.
const maxShards = 1000

// checkShard checks Options.Shard: zero, or a valid shard.
func checkShard(s sink.Shard) error {
	if s == (sink.Shard{}) {
		return nil
	}
	return validShard(s)
}

func validShard(s sink.Shard) error {
	switch {
	case s.Count < 1 || s.Count > maxShards:
		return fmt.Errorf("shard %d/%d: the shard count must be between 1 and %d", s.Index, s.Count, maxShards)
	case s.Index < 1 || s.Index > s.Count:
		return fmt.Errorf("shard %d/%d: the shard index must be between 1 and the count, %d (shards are counted from 1)", s.Index, s.Count, s.Count)
	}
	return nil
}

// ShardOf returns the shard, 1 to count, that owns key (an account id, a connection
// name): the shard whose hash with key is highest.
func ShardOf(key string, count int) int {
	best, bestScore := 1, uint64(0)
	for i := 1; i <= count; i++ {
		h := sha256.Sum256([]byte(strconv.Itoa(i) + "\x00" + key))
		if score := binary.BigEndian.Uint64(h[:8]); i == 1 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// placement is where a query runs in a sharded run.
type placement struct {
	owner int      // the one shard that runs the query; 0 for every shard
	aggs  []string // the aggregators a query for every shard fans out over
	cols  []query.Column
}

// sharder is a sharded run's view of the connections and queries.
type sharder struct {
	shard  sink.Shard
	static map[string]conn // static connections by name
	shared map[string]bool // static connections every shard that needs them opens
	places map[string]placement
}

// newSharder places every selected query, from its plan over all connections (the
// static ones, and the stand-ins for discovered accounts). A query no shard can run
// whole is an error at the query.
func newSharder(cfg *config.Config, shard sink.Shard, plans map[string]*query.Plan, selected []*config.Query) (*sharder, error) {
	s := &sharder{shard: shard, static: map[string]conn{}, shared: map[string]bool{}, places: map[string]placement{}}
	aggs := map[string]bool{}
	for _, c := range staticConnections(cfg) {
		s.static[c.name] = c
		if c.members != nil {
			aggs[c.name] = true
		}
	}
	if cfg.Organization != nil {
		aggs[config.AggregatorName] = true
	}
	var errs config.Errors
	for _, q := range selected {
		plan := plans[q.Name]
		if plan == nil {
			continue // did not plan: validation has said why
		}
		p := placement{cols: plan.Columns}
		var plains []string
		for _, sc := range plan.Scans {
			switch {
			case aggs[sc.Connection]:
				if !slices.Contains(p.aggs, sc.Connection) {
					p.aggs = append(p.aggs, sc.Connection)
				}
			case !slices.Contains(plains, sc.Connection):
				plains = append(plains, sc.Connection)
			}
		}
		owners := map[int]bool{}
		var accounts []string
		for _, c := range plains {
			owners[s.owner(c)] = true
			if _, ok := s.static[c]; !ok {
				accounts = append(accounts, c)
			}
		}
		switch {
		case len(p.aggs) == 0 && len(owners) == 1:
			p.owner = s.owner(plains[0])
		case len(accounts) > 0 && (len(p.aggs) > 0 || len(owners) > 1):
			var reads []string
			for _, a := range accounts {
				reads = append(reads, fmt.Sprintf("account %s (only shard %d/%d opens it)", a, s.owner(a), shard.Count))
			}
			for _, a := range p.aggs {
				reads = append(reads, "aggregator "+a+" (split between the shards)")
			}
			for _, c := range plains {
				if !slices.Contains(accounts, c) {
					reads = append(reads, "connection "+c)
				}
			}
			errs = append(errs, cfg.At(q.Pos(), "query %s: with --shard, no shard can run it whole: it reads %s",
				q.Name, strings.Join(reads, ", ")))
			continue
		case len(p.aggs) == 0:
			// No scan, or static connections of several shards: one shard runs it.
			p.owner = ShardOf("query:"+q.Name, shard.Count)
			fallthrough
		default:
			if p.owner == 0 || p.owner == shard.Index {
				for _, c := range plains {
					s.shared[c] = true
				}
			}
		}
		s.places[q.Name] = p
	}
	return s, errs.Err()
}

// owner is the shard owning a plain connection: by account id for a discovered
// account, by name for a static connection.
func (s *sharder) owner(name string) int {
	key := name
	if _, ok := s.static[name]; !ok {
		key = strings.TrimPrefix(name, config.AccountConnectionPrefix)
	}
	return ShardOf(key, s.shard.Count)
}

// ownsAccount says whether this shard queries the discovered account id.
func (s *sharder) ownsAccount(id string) bool { return ShardOf(id, s.shard.Count) == s.shard.Index }

// mine reports whether this shard runs q.
func (s *sharder) mine(q *config.Query) bool {
	p, ok := s.places[q.Name]
	return !ok || p.owner == 0 || p.owner == s.shard.Index
}

// connections is what this shard's engine opens out of conns (the discovered accounts,
// already this shard's, and the static connections): the plain connections it owns or
// shares, and the aggregators with the members it owns, listed by name. An aggregator
// left with no member is left out.
func (s *sharder) connections(conns []conn) []conn {
	var plains []conn
	owned := map[string]bool{}
	for _, c := range conns {
		if c.members != nil {
			continue
		}
		_, static := s.static[c.name]
		own := !static || s.owner(c.name) == s.shard.Index
		if own || s.shared[c.name] {
			plains = append(plains, c)
		}
		owned[c.name] = own
	}
	var out []conn
	for _, c := range conns {
		if c.members == nil {
			if slices.ContainsFunc(plains, func(p conn) bool { return p.name == c.name }) {
				out = append(out, c)
			}
			continue
		}
		var members []string
		for _, p := range plains {
			if owned[p.name] && p.plugin == c.plugin && slices.ContainsFunc(c.members, func(pat string) bool { ok, _ := path.Match(pat, p.name); return ok }) {
				members = append(members, p.name)
			}
		}
		if len(members) > 0 {
			out = append(out, conn{name: c.name, plugin: c.plugin, members: members})
		}
	}
	return out
}

// empty reports whether q fans out over an aggregator of which this shard owns no
// member, and if so the columns of the empty result it delivers instead.
func (s *sharder) empty(q *config.Query, members map[string]int) ([]sink.Column, bool) {
	p, ok := s.places[q.Name]
	if !ok {
		return nil, false
	}
	for _, a := range p.aggs {
		if members[a] == 0 {
			return sinkColumns(p.cols), true
		}
	}
	return nil, false
}

// startShard places the selected queries of a sharded run and returns this shard's
// share. Without discovery it also replaces the engine validation built with one over
// the shard's connections; with discovery that engine is built after discovery.
func (r *run) startShard(ctx context.Context, selected []*config.Query) ([]*config.Query, error) {
	s, err := newSharder(r.cfg, r.o.Shard, r.prepared.plans, selected)
	if err != nil {
		return nil, err
	}
	r.sharder = s
	var mine, names []string
	var out []*config.Query
	for _, q := range selected {
		if s.mine(q) {
			out = append(out, q)
			mine = append(mine, q.Name)
		} else {
			r.m.OtherShards = append(r.m.OtherShards, q.Name)
		}
	}
	names = r.m.OtherShards
	r.log.Info("shard placed its queries", "shard", r.o.Shard.String(), "queries", mine, "other_shards", names)
	if r.cfg.Organization != nil {
		return out, nil
	}
	conns := s.connections(staticConnections(r.cfg))
	eng, err := newEngine(ctx, r.cfg, r.o.Plugins, conns, []query.Option{query.WithLogger(r.log)})
	if err != nil {
		return nil, fmt.Errorf("starting the query engine over shard %s's connections: %w", r.o.Shard, err)
	}
	r.prepared.eng.Close()
	r.prepared.eng, r.eng = eng, eng
	r.members = memberCounts(conns)
	return out, nil
}

// selectAccount is discovery's account filter: nil, or this shard's accounts.
func (r *run) selectAccount() func(string) bool {
	if r.sharder == nil {
		return nil
	}
	return r.sharder.ownsAccount
}

// shardEmpty reports whether q's part of the result is empty on this shard, and with
// which columns.
func (r *run) shardEmpty(q *config.Query) ([]sink.Column, bool) {
	if r.sharder == nil {
		return nil, false
	}
	return r.sharder.empty(q, r.members)
}
