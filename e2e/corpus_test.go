package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spoutdev/spout/e2e/corpus"
	"github.com/spoutdev/spout/query"
	"github.com/turbot/steampipe-plugin-aws/aws"
)

// corpusBar is the share of the AWS plugin's documented queries that must plan. Postgres
// itself plans all but the documentation errors listed in corpusSkips.
const corpusBar = 99.5

// corpusSkips are documented queries that cannot plan for a reason outside Spout, keyed by
// "file.md#N" (N counts the file's sql+postgres blocks from 1). Each has its reason.
var corpusSkips = map[string]string{
	// Documentation errors: Postgres rejects these too.
	"aws_bedrock_foundation_model.md#1": "column model_lifecycle_status does not exist (the table has model_lifecycle)",
	"aws_bedrock_foundation_model.md#2": "column model_lifecycle_status does not exist (the table has model_lifecycle)",
	"aws_bedrock_foundation_model.md#3": "column model_lifecycle_status does not exist (the table has model_lifecycle)",
	"aws_bedrock_foundation_model.md#5": "column model_lifecycle_status does not exist (the table has model_lifecycle)",
	"aws_bedrock_foundation_model.md#6": "column model_lifecycle_status does not exist (the table has model_lifecycle)",
	"aws_bedrock_imported_model.md#2":   "column model_arn does not exist in aws_bedrock_imported_model",
	"aws_bedrock_imported_model.md#3":   "column model_arn does not exist in aws_bedrock_imported_model",
	"aws_codebuild_build.md#8":          "column network_interface does not exist (the table has network_interfaces)",
	"aws_iam_instance_profile.md#6":     "aws_iam_policy has no policy_name column (it is name)",
	// `a and b or c` parses as `(a and b) or c`: no qual pins service_namespace, so
	// Steampipe fails it at run time for the same reason.
	"aws_appautoscaling_target.md#2": "AND/OR precedence leaves the required service_namespace qual unpinned",
}

// docQueries reads every ```sql+postgres block of the pinned AWS plugin's table docs.
func docQueries(t testing.TB) []corpus.Query {
	t.Helper()
	qs, err := corpus.Queries()
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestDocsCorpusPlans(t *testing.T) {
	ctx := context.Background()
	eng, err := query.New(ctx,
		query.WithPlugin("aws", aws.Plugin),
		query.WithConnection("aws", "aws", `regions = ["us-east-1"]`))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	qs := docQueries(t)
	planned, skipped := 0, 0
	classes := map[string][]string{}
	for _, q := range qs {
		if _, ok := corpusSkips[q.ID]; ok {
			skipped++
			continue
		}
		if os.Getenv("SPOUT_CORPUS_TRACE") != "" {
			fmt.Fprintln(os.Stderr, "planning", q.ID)
		}
		_, err := eng.Plan(ctx, q.SQL)
		if err == nil {
			planned++
			continue
		}
		class := failureClass(err)
		classes[class] = append(classes[class], q.ID)
		if os.Getenv("SPOUT_CORPUS_VERBOSE") != "" {
			t.Logf("%s: %v\n%s\n", q.ID, err, q.SQL)
		}
	}
	total := len(qs) - skipped
	pct := 100 * float64(planned) / float64(total)
	fmt.Printf("docs corpus: planned %d of %d (%.1f%%)\n", planned, total, pct)
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(classes[keys[i]]) > len(classes[keys[j]]) })
	for _, k := range keys {
		t.Logf("%4d  %s  (e.g. %s)", len(classes[k]), k, classes[k][0])
	}
	if pct < corpusBar {
		t.Fatalf("planned %.1f%% of the documented queries, below the %.1f%% bar", pct, corpusBar)
	}
}

var (
	quoted   = regexp.MustCompile(`"[^"]*"`)
	numbers  = regexp.MustCompile(`\d+`)
	location = regexp.MustCompile(`^\d+:\d+: `)
)

// failureClass buckets errors by their message shape so the log shows what to fix next.
func failureClass(err error) string {
	msg := location.ReplaceAllString(err.Error(), "")
	if i := strings.IndexAny(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	msg = quoted.ReplaceAllString(msg, `"…"`)
	msg = numbers.ReplaceAllString(msg, "N")
	if len(msg) > 110 {
		msg = msg[:110]
	}
	return msg
}
