package query

import "github.com/spoutdev/spout/internal/didyoumean"

// suggest returns ` (did you mean "a", "b"?)` with the candidates closest to name, or "".
func suggest(name string, candidates []string) string { return didyoumean.Hint(name, candidates) }
