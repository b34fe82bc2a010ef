package runner

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
)

// newScanCache makes the run's scan cache on eng, or returns nil when run.scan_cache is
// false. A quarter of run.memory_limit bounds the rows it keeps in memory: the SQL
// engine, under the rest, still needs room to sort and join.
func newScanCache(eng *query.Engine, cfg *config.Config) *query.ScanCache {
	if !cfg.Run.ScanCacheOn() {
		return nil
	}
	var o query.ScanCacheOptions
	if n := parseSize(cfg.Run.MemoryLimit); n > 0 {
		o.MemoryBytes = n / 4
	}
	return eng.NewScanCache(o)
}

var sizeRe = regexp.MustCompile(`(?i)^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$`)

// expectScans announces the run's queries to its scan cache, so that the first scan of
// each distinct scan fetches what every query needs of it, whichever query starts it.
func (r *run) expectScans(ctx context.Context, queries []*config.Query) {
	for _, q := range queries {
		if err := r.cache.Expect(ctx, q.Text); err != nil {
			// The query fails on its own when it runs, and says why there.
			r.log.Debug("scan cache: query not announced", "query", q.Name, "error", err.Error())
		}
	}
}

// parseSize reads a size in DuckDB's notation (KB = 1000 bytes, KiB = 1024), as
// run.memory_limit is written; 0 when s is empty or not a size (config checks say so).
func parseSize(s string) int64 {
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0
	}
	unit := map[string]float64{
		"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
	}[strings.ToUpper(m[2])]
	return int64(n * unit)
}
