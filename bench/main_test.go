package bench

import (
	"testing"

	"github.com/spoutdev/spout/internal/pgtest"
)

// The reference run's PostgreSQL is a throwaway cluster; stop it when the benchmarks end.
func TestMain(m *testing.M) { pgtest.Main(m) }
