package sink

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSONRow appends row as a JSON object keyed by column name, in column order. It is
// the one JSON encoding of rows, shared by dead letters, the json and ndjson formats and
// the webhook. Timestamps are RFC 3339 strings, jsonb values are embedded as JSON, NaN
// and infinities (which JSON cannot hold) become null.
func AppendJSONRow(b []byte, cols []Column, row Row) []byte {
	b = append(b, '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, c.Name)
		b = append(b, ':')
		var v any
		if i < len(row) {
			v = row[i]
		}
		b = AppendJSONValue(b, v)
	}
	return append(b, '}')
}

// AppendJSONValue appends one row value as JSON.
func AppendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return AppendJSONString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case time.Time:
		b = append(b, '"')
		b = v.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case json.RawMessage:
		if len(v) == 0 {
			return append(b, "null"...)
		}
		// An invalid document would break the whole line; keep its text instead.
		if !json.Valid(v) {
			return AppendJSONString(b, string(v))
		}
		return append(b, v...)
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"')
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, j...)
	}
}

// AppendJSONString appends s as a JSON string. Unlike encoding/json it leaves <, > and &
// alone: the output is data, not HTML.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Text renders a value as text, the way csv shows it: timestamps in RFC 3339, jsonb as
// its JSON text, bytes in base64. null reports a nil value.
func Text(v any) (s string, null bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, false
	case int64:
		return strconv.FormatInt(v, 10), false
	case int:
		return strconv.Itoa(v), false
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), false
	case bool:
		return strconv.FormatBool(v), false
	case time.Time:
		return v.Format(time.RFC3339Nano), false
	case json.RawMessage:
		return string(v), false
	case []byte:
		return base64.StdEncoding.EncodeToString(v), false
	default:
		return fmt.Sprint(v), false
	}
}
