package rewrite

import "regexp"

// The functions the rewritten SQL calls besides DuckDB's own: the scan function the
// engine registers, and the Go functions of package udf.
const (
	// ScanFunc is the table function every plugin-table reference becomes:
	// spout_scan('<scan id>').
	ScanFunc = "spout_scan"
	// JSONBCompareFunc orders two JSON values the way Postgres's jsonb btree does.
	JSONBCompareFunc = "spout_jsonb_cmp"
	// RegexMatchFunc matches with a backtracking engine, for patterns RE2 rejects.
	RegexMatchFunc = "spout_regex_match"
)

// backtrackingSyntax finds the constructs RE2 rejects and Postgres accepts.
var backtrackingSyntax = regexp.MustCompile(`\(\?<?[=!]|\\[1-9]`)

// needsBacktracking reports whether a regular expression needs RegexMatchFunc.
func needsBacktracking(pattern string) bool {
	return backtrackingSyntax.MatchString(pattern)
}
