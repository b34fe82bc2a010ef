package rewrite

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// QualValue converts a constant from the query into the plugin's qual value for a column of
// type t. ok is false when the constant cannot be expressed for that column, in which case
// the qual is simply not pushed down (the SQL engine still filters).
func QualValue(t proto.ColumnType, v any) (*proto.QualValue, bool) {
	switch t {
	case proto.ColumnType_STRING, proto.ColumnType_IPADDR, proto.ColumnType_CIDR, proto.ColumnType_INET, proto.ColumnType_LTREE, proto.ColumnType_UNKNOWN:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		switch t {
		case proto.ColumnType_IPADDR, proto.ColumnType_CIDR, proto.ColumnType_INET:
			return &proto.QualValue{Value: &proto.QualValue_InetValue{InetValue: &proto.Inet{Addr: s, Cidr: s}}}, true
		case proto.ColumnType_LTREE:
			return &proto.QualValue{Value: &proto.QualValue_LtreeValue{LtreeValue: s}}, true
		}
		return &proto.QualValue{Value: &proto.QualValue_StringValue{StringValue: s}}, true
	case proto.ColumnType_INT:
		switch n := v.(type) {
		case int64:
			return &proto.QualValue{Value: &proto.QualValue_Int64Value{Int64Value: n}}, true
		}
	case proto.ColumnType_DOUBLE:
		switch n := v.(type) {
		case int64:
			return &proto.QualValue{Value: &proto.QualValue_DoubleValue{DoubleValue: float64(n)}}, true
		case float64:
			return &proto.QualValue{Value: &proto.QualValue_DoubleValue{DoubleValue: n}}, true
		}
	case proto.ColumnType_BOOL:
		if b, ok := v.(bool); ok {
			return &proto.QualValue{Value: &proto.QualValue_BoolValue{BoolValue: b}}, true
		}
	//lint:ignore SA1019 older plugins still send DATETIME for timestamp columns
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		ts, ok := parseTimestamp(s)
		if !ok {
			return nil, false
		}
		return &proto.QualValue{Value: &proto.QualValue_TimestampValue{TimestampValue: timestamppb.New(ts)}}, true
	case proto.ColumnType_JSON:
		s, ok := v.(string)
		if !ok || !json.Valid([]byte(s)) {
			return nil, false
		}
		return &proto.QualValue{Value: &proto.QualValue_JsonbValue{JsonbValue: s}}, true
	}
	return nil, false
}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// SortedQualColumns lists the qual columns of a scan in a stable order, for logs and errors.
func SortedQualColumns(q map[string]*proto.Quals) []string {
	out := make([]string, 0, len(q))
	for k := range q {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// QualSet collects the distinct values that can be quals on a column of type t.
// Values that cannot be one are skipped: they could not match the key column anyway.
type QualSet struct {
	t    proto.ColumnType
	seen map[string]bool
	vals []*proto.QualValue
}

// Values are the distinct values added so far, in the order first seen.
func (s *QualSet) Values() []*proto.QualValue { return s.vals }

// Len is how many distinct values the set holds.
func (s *QualSet) Len() int { return len(s.vals) }

func NewQualSet(t proto.ColumnType) *QualSet {
	return &QualSet{t: t, seen: map[string]bool{}}
}

func (s *QualSet) Add(v any) {
	if v == nil {
		return
	}
	qv, ok := QualValue(s.t, v)
	if tm, isTime := v.(time.Time); !ok && isTime {
		qv, ok = QualValue(s.t, tm.Format(time.RFC3339Nano))
	}
	if !ok {
		return
	}
	if key := FormatQualValue(qv); !s.seen[key] {
		s.seen[key] = true
		s.vals = append(s.vals, qv)
	}
}

// InList is the qual column = ANY(vals).
func InList(column string, vals []*proto.QualValue) *proto.Quals {
	return &proto.Quals{Quals: []*proto.Qual{{
		FieldName: column,
		Operator:  &proto.Qual_StringValue{StringValue: "="},
		Value:     &proto.QualValue{Value: &proto.QualValue_ListValue{ListValue: &proto.QualValueList{Values: vals}}},
	}}}
}

func FormatQual(q *proto.Qual) string {
	op := q.GetStringValue()
	if q.Value == nil {
		return q.FieldName + " " + op
	}
	return q.FieldName + " " + op + " " + FormatQualValue(q.Value)
}

func FormatQualValue(v *proto.QualValue) string {
	switch x := v.Value.(type) {
	case *proto.QualValue_StringValue:
		return "'" + strings.ReplaceAll(x.StringValue, "'", "''") + "'"
	case *proto.QualValue_Int64Value:
		return fmt.Sprint(x.Int64Value)
	case *proto.QualValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *proto.QualValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *proto.QualValue_TimestampValue:
		return "'" + x.TimestampValue.AsTime().Format(time.RFC3339Nano) + "'"
	case *proto.QualValue_InetValue:
		return "'" + x.InetValue.Addr + "'"
	case *proto.QualValue_LtreeValue:
		return "'" + x.LtreeValue + "'"
	case *proto.QualValue_JsonbValue:
		return "'" + x.JsonbValue + "'"
	case *proto.QualValue_ListValue:
		parts := make([]string, 0, len(x.ListValue.Values))
		for _, item := range x.ListValue.Values {
			parts = append(parts, FormatQualValue(item))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return "?"
}
