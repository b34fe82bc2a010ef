// Package corpus reads the example queries of the pinned AWS plugin's table docs: every
// ```sql+postgres block of docs/tables/*.md. The docs-corpus test plans them all and the
// differential test runs those over its fixture tables.
package corpus

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Query is one documented query.
type Query struct {
	// ID is "file.md#N": N counts the file's sql+postgres blocks from 1.
	ID  string
	SQL string
}

// Module is the Go module whose docs make up the corpus.
const Module = "github.com/turbot/steampipe-plugin-aws"

var block = regexp.MustCompile("(?s)```sql\\+postgres\\s*\\n(.*?)```")

// Queries returns every non-empty ```sql+postgres block of the AWS plugin's table docs,
// in file-name order.
func Queries() ([]Query, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		return nil, fmt.Errorf("locating the AWS plugin module: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "docs", "tables")
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no table docs in %s (%v)", dir, err)
	}
	var qs []Query
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, m := range block.FindAllStringSubmatch(string(b), -1) {
			sql := strings.TrimSpace(m[1])
			if sql == "" {
				continue
			}
			qs = append(qs, Query{ID: fmt.Sprintf("%s#%d", filepath.Base(f), i+1), SQL: sql})
		}
	}
	return qs, nil
}
