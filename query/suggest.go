package query

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spoutdev/spout/internal/editdist"
)

// suggest returns ` (did you mean "a", "b"?)` with the candidates closest to name, or "".
func suggest(name string, candidates []string) string {
	type scored struct {
		s string
		d int
	}
	var best []scored
	limit := len(name)/3 + 1
	if limit < 2 {
		limit = 2
	}
	for _, c := range candidates {
		d := editdist.Levenshtein(name, c)
		if d <= limit || (len(name) >= 4 && strings.Contains(c, name)) {
			best = append(best, scored{c, d})
		}
	}
	if len(best) == 0 {
		return ""
	}
	sort.SliceStable(best, func(i, j int) bool {
		if best[i].d != best[j].d {
			return best[i].d < best[j].d
		}
		return best[i].s < best[j].s
	})
	if len(best) > 3 {
		best = best[:3]
	}
	quoted := make([]string, len(best))
	for i, b := range best {
		quoted[i] = fmt.Sprintf("%q", b.s)
	}
	return " (did you mean " + strings.Join(quoted, ", ") + "?)"
}
