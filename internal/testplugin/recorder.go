package testplugin

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

// Calls records every List and Get invocation of every test plugin in the process.
// It is global because the SDK gives a hydrate function no way to reach its host; tests that
// assert on it should Reset it first and not run in parallel with each other.
var Calls = &Recorder{}

// Call is what one List or Get invocation received from the SDK.
type Call struct {
	Connection string
	Table      string
	// Fetch is "list" or "get".
	Fetch string
	// Columns are the columns the query asked for (the SDK adds one if none were asked for).
	Columns []string
	// Quals are the quals on the table's key columns for this fetch, by column. For an
	// `IN (...)` list the SDK calls List/Get once per value, each seeing a single `=` qual.
	Quals map[string][]Qual
	// Limit is the row limit the SDK passed on, or -1 for none.
	Limit int64
}

// Qual is one key-column qual. Value is plain Go: string, int64, float64, bool,
// time.Time (UTC), []any for a list, or nil.
type Qual struct {
	Operator string
	Value    any
}

// Recorder collects Calls. It is safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	calls     []Call
	slowPages atomic.Int64
}

// All returns a copy of every call recorded since the last Reset, in the order they started.
func (r *Recorder) All() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// ForTable returns the recorded calls for one table.
func (r *Recorder) ForTable(name string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res []Call
	for _, c := range r.calls {
		if c.Table == name {
			res = append(res, c)
		}
	}
	return res
}

// Reset forgets all calls and zeroes the test_slow page count.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
	r.slowPages.Store(0)
}

// SlowPages returns how many pages test_slow has fetched since the last Reset, so a
// cancellation test can check that fetching stopped.
func (r *Recorder) SlowPages() int64 {
	return r.slowPages.Load()
}

func (r *Recorder) record(d *plugin.QueryData, fetch string) {
	c := Call{
		Connection: d.Connection.Name,
		Table:      d.Table.Name,
		Fetch:      fetch,
		Columns:    slices.Clone(d.QueryContext.Columns),
		Quals:      make(map[string][]Qual, len(d.Quals)),
		Limit:      d.QueryContext.GetLimit(),
	}
	for column, kq := range d.Quals {
		for _, q := range kq.Quals {
			c.Quals[column] = append(c.Quals[column], Qual{Operator: q.Operator, Value: qualValue(q.Value)})
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// qualValue converts a qual's protobuf value to plain Go. It differs from the SDK's
// grpc.GetQualValue in giving timestamps in UTC and handling ltree values.
func qualValue(v *proto.QualValue) any {
	switch v := v.GetValue().(type) {
	case *proto.QualValue_StringValue:
		return v.StringValue
	case *proto.QualValue_Int64Value:
		return v.Int64Value
	case *proto.QualValue_DoubleValue:
		return v.DoubleValue
	case *proto.QualValue_BoolValue:
		return v.BoolValue
	case *proto.QualValue_TimestampValue:
		return v.TimestampValue.AsTime().UTC()
	case *proto.QualValue_InetValue:
		if v.InetValue.GetCidr() != "" {
			return v.InetValue.GetCidr()
		}
		return v.InetValue.GetAddr()
	case *proto.QualValue_JsonbValue:
		return v.JsonbValue
	case *proto.QualValue_LtreeValue:
		return v.LtreeValue
	case *proto.QualValue_ListValue:
		values := make([]any, 0, len(v.ListValue.GetValues()))
		for _, item := range v.ListValue.GetValues() {
			values = append(values, qualValue(item))
		}
		return values
	default:
		return nil
	}
}
