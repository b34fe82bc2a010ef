package differential

import (
	"regexp"
	"strings"
	"time"
)

// The clock. Queries that read the current time (now(), current_timestamp, current_date,
// localtimestamp) run against a fixed clock on both sides: the harness substitutes a
// literal of the same type for each before either engine sees the text, so a query's
// answer does not depend on when or how fast the two engines ran. The fixture's anchor is
// a fixed day and the clock is noon of that day, so the whole comparison is deterministic.
// What this does not test is the engines' own now(); one-argument age(x), which reads the
// clock implicitly, is left as written (both engines run within the same second).

var fixtureAnchor = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

var clockNow = fixtureAnchor.Add(12 * time.Hour)

var clockCalls = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)^now\s*\(\s*\)`), "('" + clockNow.Format("2006-01-02 15:04:05") + "+00'::timestamptz)"},
	{regexp.MustCompile(`(?i)^current_timestamp\b`), "('" + clockNow.Format("2006-01-02 15:04:05") + "+00'::timestamptz)"},
	{regexp.MustCompile(`(?i)^localtimestamp\b`), "('" + clockNow.Format("2006-01-02 15:04:05") + "'::timestamp)"},
	{regexp.MustCompile(`(?i)^current_date\b`), "('" + clockNow.Format("2006-01-02") + "'::date)"},
}

// fixClock replaces the clock reads of sql outside literals, quoted names and comments.
func fixClock(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(sql))
			b.WriteString(sql[i:end])
			i = end
			continue
		case strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			b.WriteString(sql[i : i+j])
			i += j
			continue
		case strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i:], "*/")
			if j < 0 {
				j = len(sql) - i - 2
			}
			b.WriteString(sql[i : i+j+2])
			i += j + 2
			continue
		}
		if isIdentByte(c) && (i == 0 || !isIdentByte(sql[i-1])) {
			replaced := false
			for _, cc := range clockCalls {
				if m := cc.re.FindString(sql[i:]); m != "" {
					b.WriteString(cc.repl)
					i += len(m)
					replaced = true
					break
				}
			}
			if replaced {
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
