package differential

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/spoutdev/spout/query"
)

// result is one engine's answer with every value in canonical form (see canon).
type result struct {
	cols  []string
	types []string
	rows  [][]any
}

// runPostgres runs sql on conn. Values are decoded from Postgres's text output: jsonb is
// parsed, numbers become float64, timestamps and dates time.Time, arrays []any; interval,
// inet, cidr and anything unknown keep Postgres's text.
func runPostgres(ctx context.Context, conn *pgx.Conn, sql string) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &result{}
	fds := rows.FieldDescriptions()
	tm := conn.TypeMap()
	for _, fd := range fds {
		res.cols = append(res.cols, fd.Name)
		name := fmt.Sprintf("oid:%d", fd.DataTypeOID)
		if t, ok := tm.TypeForOID(fd.DataTypeOID); ok {
			name = t.Name
		}
		res.types = append(res.types, name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		raw := rows.RawValues()
		row := make([]any, len(vals))
		for i, v := range vals {
			if raw[i] == nil {
				row[i] = nil
				continue
			}
			switch fds[i].DataTypeOID {
			case pgtype.JSONOID, pgtype.JSONBOID:
				var j any
				if err := json.Unmarshal(raw[i], &j); err != nil {
					return nil, err
				}
				row[i] = canon(j)
			case pgtype.IntervalOID, pgtype.InetOID, pgtype.CIDROID:
				row[i] = string(raw[i])
			case pgtype.NumericOID:
				f, err := strconv.ParseFloat(string(raw[i]), 64)
				if err != nil {
					row[i] = string(raw[i])
				} else {
					row[i] = f
				}
			default:
				row[i] = canon(v)
			}
		}
		res.rows = append(res.rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// runSpout runs sql on the engine.
func runSpout(ctx context.Context, eng *query.Engine, sql string) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := eng.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &result{}
	for _, c := range rows.Columns() {
		res.cols = append(res.cols, c.Name)
		res.types = append(res.types, c.Type)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = canon(v)
		}
		res.rows = append(res.rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// canon maps a value onto nil, bool, float64 (every number), string, time.Time (UTC),
// []any or map[string]any, so both engines' answers compare like for like.
func canon(v any) any {
	switch x := v.(type) {
	case nil, bool, string:
		return x
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	case time.Time:
		return x.UTC()
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canon(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canon(e)
		}
		return out
	case pgtype.Numeric:
		f, err := x.Float64Value()
		if err == nil && f.Valid {
			return f.Float64
		}
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	}
	return fmt.Sprint(v)
}

// key renders a canonical value as text such that equal values render equally: JSON
// objects with sorted keys, numbers to 12 significant digits, times as RFC 3339 UTC.
func key(v any) string {
	var b strings.Builder
	writeKey(&b, v)
	return b.String()
}

func writeKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		if x == 0 {
			x = 0 // -0
		}
		if math.IsNaN(x) {
			b.WriteString("NaN")
			return
		}
		b.WriteString(strconv.FormatFloat(x, 'g', 12, 64))
	case string:
		b.WriteString(strconv.Quote(x))
	case time.Time:
		b.WriteString("t'" + x.UTC().Format(time.RFC3339Nano) + "'")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeKey(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k) + ":")
			writeKey(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "?%v", x)
	}
}

func rowKey(row []any) string {
	var b strings.Builder
	for i, v := range row {
		if i > 0 {
			b.WriteString(" | ")
		}
		writeKey(&b, v)
	}
	return b.String()
}
