package runner

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spoutdev/spout/query"
	"github.com/spoutdev/spout/sink"
)

// sinkColumns maps the engine's Postgres column types onto the few a sink knows.
func sinkColumns(cols []query.Column) []sink.Column {
	out := make([]sink.Column, len(cols))
	for i, c := range cols {
		out[i] = sink.Column{Name: c.Name, Type: sinkType(c.Type)}
	}
	return out
}

func sinkType(pg string) string {
	switch pg {
	case "text":
		return sink.TypeText
	case "bigint":
		return sink.TypeBigint
	case "double precision", "numeric", "real":
		return sink.TypeDouble
	case "boolean":
		return sink.TypeBoolean
	case "timestamptz", "timestamp", "date":
		return sink.TypeTimestamptz
	case "jsonb", "json":
		return sink.TypeJSONB
	}
	if strings.HasSuffix(pg, "[]") {
		// Arrays travel as JSON: every sink can hold that, few have an array type.
		return sink.TypeJSONB
	}
	// interval, uuid, inet, time, bytea, ...: their text is what Postgres would print.
	return sink.TypeText
}

// sinkRow converts one row of engine values for cols (the sink types of sinkColumns). It
// converts in place: Rows.Values gives every row a slice of its own, so a second one per
// row would only be garbage.
func sinkRow(cols []sink.Column, vals []any) (sink.Row, error) {
	for i, v := range vals {
		c, err := sinkValue(cols[i].Type, v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		vals[i] = c
	}
	return vals, nil
}

func sinkValue(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case sink.TypeJSONB:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	case sink.TypeBigint:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		}
	case sink.TypeDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string: // a numeric too large for int64 arrives as its digits
			return strconv.ParseFloat(x, 64)
		}
	case sink.TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case sink.TypeTimestamptz:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
	case sink.TypeText:
		switch x := v.(type) {
		case string:
			return x, nil
		case map[string]any, []any:
			b, err := json.Marshal(x)
			return string(b), err
		}
		s, _ := sink.Text(v)
		return s, nil
	}
	return nil, fmt.Errorf("value %v (%T) does not fit a %s column", v, v, typ)
}
