package runner

import (
	"errors"
	"slices"
	"strings"

	"github.com/spoutdev/spout/internal/didyoumean"
	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/runner/config"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/state"
	statepg "github.com/spoutdev/spout/state/postgres"
	states3 "github.com/spoutdev/spout/state/s3"
)

// newStateStore builds the state store the state section describes. It connects to
// nothing: an unreachable store is found by the first diffed query.
func newStateStore(c *config.State) (state.Store, error) {
	// Each case returns its own nil on error: a nil *Store in a state.Store is not nil.
	switch c.Type {
	case config.StatePostgres:
		s, err := statepg.New(c.DSNEnv, c.Table)
		if err != nil {
			return nil, err
		}
		return s, nil
	case config.StateS3:
		s, err := states3.New(c.Bucket, c.Prefix, c.Region, c.Endpoint, c.PathStyle)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	// config.Parse refused any other type.
	return nil, errors.New("unknown state type " + c.Type)
}

// stateError locates a state store's build error at the option it names.
func stateError(cfg *config.Config, err error) *config.Error {
	var fe *sink.FieldError
	if errors.As(err, &fe) {
		return cfg.At(cfg.State.KeyPos(fe.Field), "state.%s: %s", fe.Field, fe.Err)
	}
	return cfg.At(cfg.State.Pos(), "state: %s", err)
}

// diffErrors checks a diffed query's settings against the columns its SQL gives.
func diffErrors(cfg *config.Config, q *config.Query, cols []query.Column) config.Errors {
	if !q.Diffed() {
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	var errs config.Errors
	if slices.Contains(names, ChangeColumn) {
		errs = append(errs, cfg.At(q.KeyPos("diff"), "query %s: the result has a column %s, which diff adds: rename it", q.Name, ChangeColumn))
	}
	for i, k := range q.Diff.Key {
		if !slices.Contains(names, k) {
			errs = append(errs, cfg.At(q.Diff.ItemPos("key", i), "query %s: diff.key: the result has no column %q%s (columns: %s)",
				q.Name, k, didyoumean.Hint(k, names), strings.Join(names, ", ")))
		}
	}
	return errs
}
