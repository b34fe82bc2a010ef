// Package didyoumean writes the "did you mean" hints of error messages about misspelt
// names: tables, columns, connections, configuration keys, sinks.
package didyoumean

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// maxHints bounds a hint, so a short name among hundreds of tables stays readable.
const maxHints = 3

// Hint returns ` (did you mean "a", "b"?)` naming up to three of known closest to
// name, or "" when none is close. A name is close when few edits (a third of name's
// length, at least two) turn one into the other, or, for names of four characters or
// more, when it contains name (a table name without its plugin prefix).
func Hint(name string, known []string) string {
	type scored struct {
		s string
		d int
	}
	limit := max(len(name)/3+1, 2)
	var best []scored
	for _, k := range known {
		d := levenshtein.Distance(name, k, nil)
		if d <= limit || (len(name) >= 4 && strings.Contains(k, name)) {
			best = append(best, scored{k, d})
		}
	}
	if len(best) == 0 {
		return ""
	}
	slices.SortStableFunc(best, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.s, b.s)) })
	quoted := make([]string, 0, maxHints)
	for _, b := range best[:min(len(best), maxHints)] {
		quoted = append(quoted, strconv.Quote(b.s))
	}
	return " (did you mean " + strings.Join(quoted, ", ") + "?)"
}

// HintOrKnown is Hint, or ` (known: a, b, c)` listing known when none is close: for
// short lists, such as the keys of one configuration entry, where the whole list helps.
func HintOrKnown(name string, known []string) string {
	if h := Hint(name, known); h != "" {
		return h
	}
	if len(known) == 0 {
		return ""
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}
