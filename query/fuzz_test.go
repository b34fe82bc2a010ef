package query_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoutdev/spout/e2e/corpus"
	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// fuzzPlanTimeout bounds one plan in the fuzz engine; a plan may take this long, plus the
// slack a loaded machine needs, and no more.
const fuzzPlanTimeout = 2 * time.Second

// FuzzPlan feeds the whole SQL front end (parse, rewrite, bind against the test plugin's
// schema) arbitrary text, seeded with the rewrite's golden queries and the AWS plugin's
// documented queries. Whatever the input: no panic, no plan that outlives the plan
// timeout, and every failure a typed error located inside the text when it is located.
// Planning runs nothing: no API call, no file or network access.
func FuzzPlan(f *testing.F) {
	golden, _ := filepath.Glob("internal/rewrite/testdata/golden/*.sql")
	for _, file := range golden {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	docs, err := corpus.Queries()
	if err != nil {
		f.Fatalf("reading the docs corpus: %v", err)
	}
	for _, q := range docs {
		f.Add(q.SQL)
	}
	eng, err := query.New(context.Background(),
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", ""),
		query.WithConnection("prod", "test", ""),
		query.WithPlanTimeout(fuzzPlanTimeout),
		query.WithLogger(quietLogger()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	f.Fuzz(func(t *testing.T, sql string) {
		start := time.Now()
		_, err := eng.Plan(context.Background(), sql)
		if d := time.Since(start); d > fuzzPlanTimeout+5*time.Second {
			t.Fatalf("planning took %s, past the %s plan timeout", d, fuzzPlanTimeout)
		}
		if err == nil {
			return
		}
		var se *query.SQLError
		var mq *query.MissingQualError
		if !errors.As(err, &se) && !errors.As(err, &mq) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if p, ok := query.PositionOf(err); ok && (p.Offset < 1 || p.Offset > len(sql)+1) {
			t.Fatalf("error located at byte %d of a %d-byte text: %v", p.Offset, len(sql), err)
		}
	})
}
