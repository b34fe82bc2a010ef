package udf

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// Postgres prints jsonb in its own canonical form: object keys sorted by length and then
// bytes (the jsonb storage order), ", " and ": " separators, and jsonb_pretty's four-space
// layout. DuckDB prints JSON as it was written, so ->> on a container, and jsonb_pretty,
// go through these functions to return Postgres's text.

// jsonbText renders a JSON document the way Postgres's jsonb output does; a top-level
// string is returned unquoted, as ->> returns it.
func jsonbText(doc string, pretty bool) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	if s, ok := v.(string); ok && !pretty {
		return s, true
	}
	if v == nil && !pretty {
		return "", false
	}
	var b bytes.Buffer
	writeJSONB(&b, v, pretty, 0)
	return b.String(), true
}

func writeJSONB(b *bytes.Buffer, v any, pretty bool, level int) {
	indent := func(l int) {
		if pretty {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("    ", l))
		}
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		fmt.Fprint(b, x)
	case json.Number:
		b.WriteString(x.String())
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
				if !pretty {
					b.WriteByte(' ')
				}
			}
			indent(level + 1)
			writeJSONB(b, item, pretty, level+1)
		}
		indent(level)
		b.WriteByte(']')
	case map[string]any:
		keys := jsonbKeys(x)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
				if !pretty {
					b.WriteByte(' ')
				}
			}
			indent(level + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSONB(b, x[k], pretty, level+1)
		}
		indent(level)
		b.WriteByte('}')
	}
}

// writeJSONString escapes like Postgres's escape_json: quotes, backslashes and control
// characters; everything else, non-ASCII included, is written as is.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

type jsonbTextUDF struct {
	pretty bool
	cfg    duckdb.ScalarFuncConfig
}

func (u *jsonbTextUDF) Config() duckdb.ScalarFuncConfig { return u.cfg }

func (u *jsonbTextUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, ok := values[0].(string)
		if !ok {
			return nil, nil
		}
		out, ok := jsonbText(s, u.pretty)
		if !ok {
			return nil, nil
		}
		return out, nil
	}}
}

// registerJSONBFunctions adds spout_jsonb_text(varchar) and jsonb_pretty(varchar); JSON
// arguments arrive as their text.
func registerJSONBFunctions(ctx context.Context, db *sql.DB) error {
	ti, err := TypeInfos(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	fns := map[string]duckdb.ScalarFunc{}
	for name, pretty := range map[string]bool{"spout_jsonb_text": false, "spout_jsonb_pretty": true} {
		fns[name] = &jsonbTextUDF{pretty: pretty, cfg: duckdb.ScalarFuncConfig{
			InputTypeInfos: ti, ResultTypeInfo: ti[0],
		}}
	}
	return RegisterScalars(ctx, db, fns)
}

// jsonbKeys returns an object's keys in jsonb's storage order: shorter keys first, then
// bytewise.
func jsonbKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}
