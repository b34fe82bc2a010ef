package differential

import (
	"context"
	"io"
	"log/slog"
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
	if len(a.cols) != len(b.cols) || len(a.rows) != len(b.rows) {
		return false
	}
	for i := range a.cols {
		if a.cols[i] != b.cols[i] {
			return false
		}
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
	s := ""
	for i, row := range r.rows {
		if i > 0 {
			s += "; "
		}
		s += rowKey(row)
	}
	return "[" + joinCols(r.cols) + "] " + s
}

func joinCols(c []string) string {
	out := ""
	for i, x := range c {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
