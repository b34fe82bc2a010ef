package udf

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spoutdev/spout/query/internal/rewrite"
)

// DuckDB compares JSON as text, so `x -> 'n' > '7'` is false for 59 and
// `x -> 'a' = '{"b": 1, "c": 2}'` depends on spacing and key order. Postgres compares jsonb
// values. Comparisons with a jsonb operand therefore go through spout_jsonb_cmp, which
// orders values the way Postgres's jsonb btree does.

// jsonbRank is jsonb's order between types: null < string < number < boolean < array <
// object.
func jsonbRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case string:
		return 1
	case json.Number:
		return 2
	case bool:
		return 3
	case []any:
		return 4
	default:
		return 5
	}
}

// jsonbCompare orders two decoded JSON values as Postgres orders jsonb.
func jsonbCompare(a, b any) int {
	if ra, rb := jsonbRank(a), jsonbRank(b); ra != rb {
		return cmpInt(ra, rb)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case json.Number:
		fa, _ := new(big.Float).SetString(x.String())
		fb, _ := new(big.Float).SetString(b.(json.Number).String())
		if fa == nil || fb == nil {
			return strings.Compare(x.String(), b.(json.Number).String())
		}
		return fa.Cmp(fb)
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case []any:
		y := b.([]any)
		if len(x) != len(y) {
			return cmpInt(len(x), len(y))
		}
		for i := range x {
			if c := jsonbCompare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return 0
	case map[string]any:
		y := b.(map[string]any)
		if len(x) != len(y) {
			return cmpInt(len(x), len(y))
		}
		kx, ky := jsonbKeys(x), jsonbKeys(y)
		for i := range kx {
			// Pairs are visited in storage order, but keys compare as strings.
			if kx[i] != ky[i] {
				return strings.Compare(kx[i], ky[i])
			}
			if c := jsonbCompare(x[kx[i]], y[ky[i]]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func decodeJSONB(doc string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid input syntax for type json: %q", doc)
	}
	return v, nil
}

type jsonbCmpUDF struct{ cfg duckdb.ScalarFuncConfig }

func (u *jsonbCmpUDF) Config() duckdb.ScalarFuncConfig { return u.cfg }

func (u *jsonbCmpUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		var docs [2]any
		for i := range docs {
			s, _ := values[i].(string)
			v, err := decodeJSONB(s)
			if err != nil {
				return nil, err
			}
			docs[i] = v
		}
		return int32(jsonbCompare(docs[0], docs[1])), nil
	}}
}

// registerJSONBCompare adds spout_jsonb_cmp(a, b): -1, 0 or 1.
func registerJSONBCompare(ctx context.Context, db *sql.DB) error {
	ti, err := TypeInfos(duckdb.TYPE_VARCHAR, duckdb.TYPE_INTEGER)
	if err != nil {
		return err
	}
	udf := &jsonbCmpUDF{cfg: duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{ti[0], ti[0]}, ResultTypeInfo: ti[1]}}
	return RegisterScalars(ctx, db, map[string]duckdb.ScalarFunc{rewrite.JSONBCompareFunc: udf})
}
