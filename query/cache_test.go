package query_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spoutdev/spout/query"
)

// Scans with the query cache on and results larger than the cache must finish with
// every row, alone and several at once.
func TestCachedScansLargerThanTheCacheFinish(t *testing.T) {
	skipBug(t, bugCacheEviction)
	const rows = 30_000
	eng := newEngine(t, query.WithConnection("big", "test", fmt.Sprintf("big_rows = %d", rows)), query.WithQueryCache(1))
	// The deadline only turns a hang into a failure; the scans take seconds.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	queries := []string{
		"select id, name, value from big.test_big",
		"select id, name, value from big.test_big",
		"select id from big.test_big",
		"select name, value from big.test_big",
	}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		errs := make([]error, len(queries))
		counts := make([]int, len(queries))
		for i, sql := range queries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], errs[i] = drain(ctx, eng, sql, query.UseCache())
			}()
		}
		wg.Wait()
		for i := range queries {
			if errs[i] != nil || counts[i] != rows {
				t.Errorf("round %d, %s: %d rows, error %v; want %d rows", round, queries[i], counts[i], errs[i], rows)
			}
		}
	}
}
