package pgwire

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// oidByTypeName maps the type names a query may write (and query.Column.Type) to
// Postgres type OIDs.
var oidByTypeName = map[string]uint32{
	"text": pgtype.TextOID, "varchar": pgtype.VarcharOID, "bpchar": pgtype.BPCharOID, "name": pgtype.NameOID,
	"bigint": pgtype.Int8OID, "int8": pgtype.Int8OID, "integer": pgtype.Int4OID, "int4": pgtype.Int4OID, "int": pgtype.Int4OID,
	"smallint": pgtype.Int2OID, "int2": pgtype.Int2OID,
	"double precision": pgtype.Float8OID, "float8": pgtype.Float8OID, "real": pgtype.Float4OID, "float4": pgtype.Float4OID,
	"numeric": pgtype.NumericOID, "boolean": pgtype.BoolOID, "bool": pgtype.BoolOID,
	"timestamptz": pgtype.TimestamptzOID, "timestamp": pgtype.TimestampOID, "date": pgtype.DateOID,
	"jsonb": pgtype.JSONBOID, "json": pgtype.JSONOID, "uuid": pgtype.UUIDOID, "bytea": pgtype.ByteaOID,
	"oid": pgtype.OIDOID,
}

// resultOID is the OID a result column of Postgres type name t is sent as. Types without
// a faithful encoding of the engine's values (intervals, arrays, inet ...) go as text.
func resultOID(t string) uint32 {
	switch t {
	case "text", "bigint", "double precision", "boolean", "timestamptz", "timestamp", "date", "jsonb", "numeric", "uuid", "bytea":
		return oidByTypeName[t]
	}
	return pgtype.TextOID
}

// encode appends v, a value of query.Rows or of the catalog, as OID oid in format.
func encode(m *pgtype.Map, oid uint32, format int16, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch oid {
	case pgtype.TextOID:
		v = textValue(v)
	case pgtype.JSONBOID, pgtype.JSONOID:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding a JSON value: %w", err)
		}
		if format == pgtype.TextFormatCode {
			return b, nil
		}
		if oid == pgtype.JSONBOID {
			return append([]byte{1}, b...), nil
		}
		return b, nil
	case pgtype.Float8OID:
		if f, ok := v.(float64); ok && format == pgtype.TextFormatCode {
			return []byte(formatFloat(f)), nil
		}
	case pgtype.TimestamptzOID:
		if t, ok := v.(time.Time); ok && format == pgtype.TextFormatCode {
			return []byte(t.UTC().Format("2006-01-02 15:04:05.999999Z07")), nil
		}
	}
	buf, err := m.Encode(oid, format, v, nil)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as type %d: %w", v, oid, err)
	}
	return buf, nil
}

// formatFloat writes a double the way Postgres 12+ does (shortest exact form).
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// textValue writes any value of the engine as text: strings as they are, numbers and
// booleans as Postgres writes them, arrays and objects as JSON.
func textValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		if x {
			return "t"
		}
		return "f"
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatFloat(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999Z07")
	case fmt.Stringer:
		return x.String()
	case []any:
		return arrayLiteral(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// arrayLiteral writes a list the way Postgres writes an array: {a,"b c",NULL}.
func arrayLiteral(items []any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, item := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if item == nil {
			b.WriteString("NULL")
			continue
		}
		s := textValue(item)
		if s == "" || strings.EqualFold(s, "null") || strings.ContainsAny(s, "{},\" \\\t\n") {
			s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		b.WriteString(s)
	}
	b.WriteByte('}')
	return b.String()
}

// literal writes a bound parameter as SQL text for the engine: the engine takes query
// text, not parameters, so parameters become typed literals. oid is the parameter's
// type (0 or text: a string literal).
func literal(m *pgtype.Map, oid uint32, format int16, raw []byte) (string, error) {
	if raw == nil {
		return "NULL", nil
	}
	text := string(raw)
	if format == pgtype.BinaryFormatCode {
		if oid == 0 {
			oid = pgtype.TextOID
		}
		t, ok := m.TypeForOID(oid)
		if !ok {
			return "", fmt.Errorf("parameter of type OID %d in binary format is not supported", oid)
		}
		v, err := t.Codec.DecodeValue(m, oid, format, raw)
		if err != nil {
			return "", fmt.Errorf("decoding a parameter of type %s: %w", t.Name, err)
		}
		switch x := v.(type) {
		case time.Time:
			text = x.UTC().Format(time.RFC3339Nano)
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			text = string(b)
		default:
			text = textValue(x)
		}
	}
	switch oid {
	case pgtype.Int8OID, pgtype.Int4OID, pgtype.Int2OID, pgtype.OIDOID:
		if _, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err != nil {
			return "", fmt.Errorf("invalid input syntax for type integer: %q", text)
		}
		return strings.TrimSpace(text), nil
	case pgtype.Float8OID, pgtype.Float4OID, pgtype.NumericOID:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return "", fmt.Errorf("invalid input syntax for type double precision: %q", text)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return quote(text) + "::double", nil
		}
		return strings.TrimSpace(text), nil
	case pgtype.BoolOID:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			switch strings.ToLower(strings.TrimSpace(text)) {
			case "t", "on", "yes", "y":
				b = true
			case "f", "off", "no", "n":
				b = false
			default:
				return "", fmt.Errorf("invalid input syntax for type boolean: %q", text)
			}
		}
		return strconv.FormatBool(b), nil
	case pgtype.TimestamptzOID:
		return quote(text) + "::timestamptz", nil
	case pgtype.TimestampOID:
		return quote(text) + "::timestamp", nil
	case pgtype.DateOID:
		return quote(text) + "::date", nil
	case pgtype.JSONBOID, pgtype.JSONOID:
		return quote(text) + "::jsonb", nil
	}
	return quote(text), nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
