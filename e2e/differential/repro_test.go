package differential

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// TestMismatchReproductions runs the minimal reproduction of every mismatch class in both
// engines and logs both answers; a class whose answers agree is reported as fixed.
func TestMismatchReproductions(t *testing.T) {
	ctx := context.Background()
	conn, err := connectPostgres(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, setupSQL); err != nil {
		t.Fatal(err)
	}
	eng, err := query.New(ctx, query.WithPlugin("test", testplugin.Plugin), query.WithConnection("test", "test", ""),
		query.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, c := range mismatchClasses {
		if c.repro == "" {
			continue
		}
		pgRes, pgErr := runPostgres(ctx, conn, c.repro)
		spRes, spErr := runSpout(ctx, eng, c.repro)
		state := "still differs"
		if pgErr == nil && spErr == nil && sameAnswer(pgRes, spRes) {
			state = "FIXED (answers agree)"
		}
		t.Logf("%s: %s\n  cause: %s\n  %s\n  postgres: %s\n  spout:    %s", c.name, state, c.why, c.repro, describe(pgRes, pgErr), describe(spRes, spErr))
	}
}

func sameAnswer(a, b *result) bool {
	if !slices.Equal(a.cols, b.cols) || len(a.rows) != len(b.rows) {
		return false
	}
	for i := range a.rows {
		if rowKey(a.rows[i]) != rowKey(b.rows[i]) {
			return false
		}
	}
	return true
}

func describe(r *result, err error) string {
	if err != nil {
		return "ERROR " + firstLineOf(err.Error())
	}
	var rows []string
	for _, row := range r.rows {
		rows = append(rows, rowKey(row))
	}
	return "[" + strings.Join(r.cols, ", ") + "] " + strings.Join(rows, "; ")
}
