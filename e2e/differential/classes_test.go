package differential

import "strings"

// Every mismatch the differential test finds, by cause. Each class has a minimal
// reproduction that needs no table (TestMismatchReproductions runs them all in both
// engines) and the corpus queries it explains. A query may have more than one cause.
// These are findings about the engine, not about the harness: each is either a compat
// rule still to write or a documented limitation. The test names every listed query that
// has since come to match, so the list stays true.

type classDef struct {
	name  string
	why   string
	repro string
	ids   []string
}

var mismatchClasses = []classDef{
	{
		name:  "cast error on a row the WHERE excludes",
		why:   "body::jsonb inside jsonb_array_elements(...) in FROM is evaluated for every row before the WHERE filters; Postgres pushes the filter below the function and never casts the rows it excludes",
		repro: `select b from (values ('x', 'not json'), ('y', '[1]')) v(k, body), jsonb_array_elements(body::jsonb) as b where k = 'y'`,
		ids:   []string{"aws_s3_object.md#13"},
	},
}

// mismatchClass names why a query's answers differ: the classes that list it, else the
// comparison's own kind.
func mismatchClass(o outcome) string {
	var names []string
	for _, c := range mismatchClasses {
		for _, id := range c.ids {
			if id == o.id {
				names = append(names, c.name)
			}
		}
	}
	if len(names) == 0 {
		return "unclassified: " + o.kind
	}
	return strings.Join(names, " + ")
}
