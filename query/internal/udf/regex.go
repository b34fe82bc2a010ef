package udf

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/spoutdev/spout/query/internal/rewrite"
)

// Postgres's regular expressions (ARE) have lookahead, lookbehind and back references;
// DuckDB's RE2 has none of them. A ~ whose constant pattern uses one goes through
// spout_regex_match, a backtracking matcher, instead of failing. Everything else stays on
// RE2, which is faster and cannot run away.

// regexMatchTimeout bounds one match: a backtracking pattern can take exponential time,
// and a query must not hang on one row.
const regexMatchTimeout = 2 * time.Second

// maxCachedRegexps bounds the compiled patterns kept; a query has a handful.
const maxCachedRegexps = 256

type regexUDF struct {
	cfg duckdb.ScalarFuncConfig
	// Every row looks its pattern up, from several SQL engine threads: reads share the
	// lock.
	mu    sync.RWMutex
	cache map[[2]string]*regexp2.Regexp
}

func (u *regexUDF) Config() duckdb.ScalarFuncConfig { return u.cfg }

func (u *regexUDF) compile(pattern, flags string) (*regexp2.Regexp, error) {
	key := [2]string{pattern, flags}
	u.mu.RLock()
	re, ok := u.cache[key]
	u.mu.RUnlock()
	if ok {
		return re, nil
	}
	// Postgres's . matches a newline too.
	opts := regexp2.RegexOptions(regexp2.Singleline)
	for _, f := range flags {
		switch f {
		case 'i':
			opts |= regexp2.IgnoreCase
		case 'c', 's':
		default:
			return nil, fmt.Errorf("regular expression flag %q is not supported", f)
		}
	}
	re, err := regexp2.Compile(pattern, opts)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	re.MatchTimeout = regexMatchTimeout
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.cache) >= maxCachedRegexps {
		clear(u.cache)
	}
	u.cache[key] = re
	return re, nil
}

func (u *regexUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, _ := values[0].(string)
		pattern, _ := values[1].(string)
		flags, _ := values[2].(string)
		re, err := u.compile(pattern, flags)
		if err != nil {
			return nil, err
		}
		ok, err := re.MatchString(s)
		if err != nil {
			// regexp2 fails a match only when it runs out of time.
			return nil, fmt.Errorf("regular expression %q took longer than %s on one value; simplify its lookaround", pattern, regexMatchTimeout)
		}
		return ok, nil
	}}
}

// registerRegexFunction adds spout_regex_match(text, pattern, flags).
func registerRegexFunction(ctx context.Context, db *sql.DB) error {
	ti, err := TypeInfos(duckdb.TYPE_VARCHAR, duckdb.TYPE_BOOLEAN)
	if err != nil {
		return err
	}
	varchar, boolean := ti[0], ti[1]
	udf := &regexUDF{cache: map[[2]string]*regexp2.Regexp{}, cfg: duckdb.ScalarFuncConfig{
		InputTypeInfos: []duckdb.TypeInfo{varchar, varchar, varchar}, ResultTypeInfo: boolean,
	}}
	return RegisterScalars(ctx, db, map[string]duckdb.ScalarFunc{rewrite.RegexMatchFunc: udf})
}
