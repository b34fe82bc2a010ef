package testplugin_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/anywhere"
	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

const conn = "test"

// newServer hosts the plugin in-process with one connection named "test".
func newServer(t *testing.T, config string) *sdkgrpc.PluginServer {
	t.Helper()
	// The SDK logs every fetch error at WARN to stderr; keep test output readable.
	t.Setenv("STEAMPIPE_LOG_LEVEL", "ERROR")
	// By default the SDK calls debug.FreeOSMemory every 100 rows, which makes streaming ~10x
	// slower. It reads this variable at every Execute, so it must stay set while scans run.
	t.Setenv("STEAMPIPE_FREE_MEM_INTERVAL", "0")
	srv := plugin.Server(&plugin.ServeOpts{PluginFunc: testplugin.Plugin})
	res, err := srv.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{Connection: conn, Plugin: "test", Config: config}},
		// 0 means "no size limit" and makes the SDK preallocate ~320 MiB of query cache;
		// 1 is the smallest cache it will build (~37 MiB). It cannot be switched off here.
		MaxCacheSizeMb: 1,
	})
	if err != nil {
		t.Fatalf("SetAllConnectionConfigs: %v", err)
	}
	if len(res.FailedConnections) > 0 {
		t.Fatalf("SetAllConnectionConfigs: failed connections %v", res.FailedConnections)
	}
	if _, err := srv.GetSchema(&proto.GetSchemaRequest{Connection: conn}); err != nil {
		t.Fatalf("GetSchema: %v", err)
	}
	return srv
}

// scan is one table scan, as the engine would issue it.
type scan struct {
	table   string
	columns []string
	quals   map[string]*proto.Quals
	limit   int64 // 0: no limit
}

func (s scan) request() *proto.ExecuteRequest {
	data := &proto.ExecuteConnectionData{CacheEnabled: false}
	if s.limit > 0 {
		// The SDK takes the limit from ExecuteConnectionData, not QueryContext.Limit.
		data.Limit = &proto.NullableInt{Value: s.limit}
	}
	return &proto.ExecuteRequest{
		Table:                 s.table,
		QueryContext:          &proto.QueryContext{Columns: s.columns, Quals: s.quals},
		CallId:                fmt.Sprintf("%s-%d", s.table, callID.Add(1)),
		Connection:            conn,
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{conn: data},
	}
}

var callID atomic.Int64

// executeStream receives rows for srv.Execute. Execute's stream is a gRPC server stream,
// but the SDK only calls Send and Context on it, so the embedded interface stays nil.
type executeStream struct {
	grpc.ServerStream
	ctx  context.Context
	rows chan *proto.ExecuteResponse
}

func (s *executeStream) Context() context.Context { return s.ctx }

func (s *executeStream) Send(r *proto.ExecuteResponse) error {
	select {
	case s.rows <- r:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// run executes a scan through srv.Execute and collects its rows. Execute returns the scan's
// error itself once every row has been sent, so an error can never be mistaken for the end.
// onRow, if set, sees each row as it arrives.
func run(ctx context.Context, t *testing.T, srv *sdkgrpc.PluginServer, s scan, onRow func(map[string]any)) ([]map[string]any, error) {
	t.Helper()
	stream := &executeStream{ctx: ctx, rows: make(chan *proto.ExecuteResponse)}
	done := make(chan error, 1)
	go func() {
		done <- srv.Execute(s.request(), stream)
		close(stream.rows)
	}()
	var rows []map[string]any
	for resp := range stream.rows {
		row := rowValues(t, resp.GetRow())
		if onRow != nil {
			onRow(row)
		}
		rows = append(rows, row)
	}
	return rows, <-done
}

// rowValues converts a row to plain Go values, dropping the columns the SDK adds to every row.
func rowValues(t *testing.T, row *proto.Row) map[string]any {
	t.Helper()
	res := make(map[string]any, len(row.GetColumns()))
	for name, col := range row.GetColumns() {
		if name == "_ctx" || name == "sp_ctx" || name == "sp_connection_name" {
			continue
		}
		switch v := col.GetValue().(type) {
		case *proto.Column_NullValue:
			res[name] = nil
		case *proto.Column_IntValue:
			res[name] = v.IntValue
		case *proto.Column_DoubleValue:
			res[name] = v.DoubleValue
		case *proto.Column_StringValue:
			res[name] = v.StringValue
		case *proto.Column_BoolValue:
			res[name] = v.BoolValue
		case *proto.Column_JsonValue:
			res[name] = string(v.JsonValue)
		case *proto.Column_TimestampValue:
			res[name] = v.TimestampValue.AsTime()
		case *proto.Column_IpAddrValue:
			res[name] = v.IpAddrValue
		case *proto.Column_CidrRangeValue:
			res[name] = v.CidrRangeValue
		case *proto.Column_LtreeValue:
			res[name] = v.LtreeValue
		default:
			t.Fatalf("column %s: unexpected value %T", name, v)
		}
	}
	return res
}

// ids returns the rows' "id" values sorted: the SDK builds rows concurrently, so they arrive
// in no particular order.
func ids(rows []map[string]any) []int64 {
	var res []int64
	for _, r := range rows {
		res = append(res, r["id"].(int64))
	}
	slices.Sort(res)
	return res
}

func seq(from, to int64) []int64 {
	var res []int64
	for i := from; i <= to; i++ {
		res = append(res, i)
	}
	return res
}

func quals(qs ...*proto.Qual) map[string]*proto.Quals {
	res := map[string]*proto.Quals{}
	for _, q := range qs {
		if res[q.FieldName] == nil {
			res[q.FieldName] = &proto.Quals{}
		}
		res[q.FieldName].Quals = append(res[q.FieldName].Quals, q)
	}
	return res
}

func qual(column, op string, v *proto.QualValue) *proto.Qual {
	return &proto.Qual{FieldName: column, Operator: &proto.Qual_StringValue{StringValue: op}, Value: v}
}

func intValue(i int64) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_Int64Value{Int64Value: i}}
}

func stringValue(s string) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_StringValue{StringValue: s}}
}

func boolValue(b bool) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_BoolValue{BoolValue: b}}
}

func timeValue(ts time.Time) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_TimestampValue{TimestampValue: timestamppb.New(ts)}}
}

func listValue(vs ...*proto.QualValue) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_ListValue{ListValue: &proto.QualValueList{Values: vs}}}
}

func TestSchema(t *testing.T) {
	srv := newServer(t, "")
	res, err := srv.GetSchema(&proto.GetSchemaRequest{Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	schema := res.GetSchema().GetSchema()
	want := []string{"test_big", "test_error", "test_optional", "test_required", "test_slow", "test_types"}
	var got []string
	for name := range schema {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}

	types := map[string]proto.ColumnType{}
	for _, c := range schema["test_types"].GetColumns() {
		types[c.GetName()] = c.GetType()
	}
	for name, typ := range map[string]proto.ColumnType{
		"id": proto.ColumnType_INT, "name": proto.ColumnType_STRING, "score": proto.ColumnType_DOUBLE,
		"active": proto.ColumnType_BOOL, "created_at": proto.ColumnType_TIMESTAMP, "tags": proto.ColumnType_JSON,
		"items": proto.ColumnType_JSON, "ip": proto.ColumnType_IPADDR, "cidr": proto.ColumnType_CIDR,
		"inet": proto.ColumnType_INET, "path": proto.ColumnType_LTREE, "account_id": proto.ColumnType_STRING,
	} {
		if types[name] != typ {
			t.Errorf("test_types.%s type = %v, want %v", name, types[name], typ)
		}
	}

	var required []string
	for _, k := range schema["test_required"].GetListCallKeyColumnList() {
		if k.GetRequire() == plugin.Required {
			required = append(required, k.GetName())
		}
	}
	if !slices.Equal(required, []string{"kind"}) {
		t.Errorf("test_required required key columns = %v, want [kind]", required)
	}
}

func TestTypesRows(t *testing.T) {
	testplugin.Calls.Reset()
	srv := newServer(t, `rows = 10
account_id = "123456789012"`)
	columns := []string{"id", "name", "score", "active", "created_at", "tags", "items", "ip", "cidr", "inet", "path", "account_id"}
	rows, err := run(t.Context(), t, srv, scan{table: "test_types", columns: columns}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rows); !slices.Equal(got, seq(1, 10)) {
		t.Fatalf("ids = %v, want 1..10", got)
	}
	byID := map[int64]map[string]any{}
	for _, r := range rows {
		byID[r["id"].(int64)] = r
	}

	// Row 4: every column set, tags with both keys, two items.
	want := map[string]any{
		"id":         int64(4),
		"name":       "item-4",
		"score":      6.0,
		"active":     true,
		"created_at": time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		"tags":       `{"department":"eng","environment":"prod"}`,
		"items":      `[{"Action":"s3:GetObject","Effect":"Allow"},{"Action":"s3:PutObject","Effect":"Deny"}]`,
		"ip":         "10.0.0.4",
		"cidr":       "10.4.0.0/16",
		"inet":       "192.168.4.1/24",
		"path":       "root.group1.item4",
		"account_id": "123456789012",
	}
	for col, w := range want {
		if got := byID[4][col]; got != w {
			t.Errorf("row 4 %s = %#v, want %#v", col, got, w)
		}
	}
	// NULLs and missing keys.
	if byID[7]["name"] != nil {
		t.Errorf("row 7 name = %#v, want NULL", byID[7]["name"])
	}
	if byID[10]["tags"] != nil {
		t.Errorf("row 10 tags = %#v, want NULL", byID[10]["tags"])
	}
	if got := byID[3]["tags"]; got != `{"environment":"dev"}` {
		t.Errorf("row 3 tags = %#v, want no department", got)
	}

	calls := testplugin.Calls.ForTable("test_types")
	if len(calls) != 1 {
		t.Fatalf("calls = %+v, want 1", calls)
	}
	c := calls[0]
	if c.Connection != conn || c.Fetch != "list" || c.Limit != -1 || len(c.Quals) != 0 {
		t.Errorf("call = %+v, want a list on %q with no quals and no limit", c, conn)
	}
	if !slices.Equal(c.Columns, columns) {
		t.Errorf("call columns = %v, want %v", c.Columns, columns)
	}
}

func TestTypesDefaults(t *testing.T) {
	srv := newServer(t, "")
	rows, err := run(t.Context(), t, srv, scan{table: "test_types", columns: []string{"id", "account_id"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 || rows[0]["account_id"] != "000000000000" {
		t.Fatalf("got %d rows, account_id %v; want 10 rows of 000000000000", len(rows), rows[0]["account_id"])
	}
}

func TestTypesQuals(t *testing.T) {
	day := func(i int) time.Time { return time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		quals     map[string]*proto.Quals
		wantIDs   []int64
		wantFetch []string
		wantQuals map[string][]testplugin.Qual
	}{
		{
			// A lone `id =` satisfies the Get key column, so the SDK calls Get, not List.
			name:      "id equals is a get",
			quals:     quals(qual("id", "=", intValue(3))),
			wantIDs:   []int64{3},
			wantFetch: []string{"get"},
			wantQuals: map[string][]testplugin.Qual{"id": {{Operator: "=", Value: int64(3)}}},
		},
		{
			name:      "id equals out of range",
			quals:     quals(qual("id", "=", intValue(99))),
			wantFetch: []string{"get"},
			wantQuals: map[string][]testplugin.Qual{"id": {{Operator: "=", Value: int64(99)}}},
		},
		{
			// An IN list on the Get key column becomes one Get per value.
			name:      "id in",
			quals:     quals(qual("id", "=", listValue(intValue(2), intValue(4)))),
			wantIDs:   []int64{2, 4},
			wantFetch: []string{"get", "get"},
		},
		{
			// Range quals reach the list, which ignores them: all rows come back.
			name:      "id range is passed but not applied",
			quals:     quals(qual("id", ">", intValue(2)), qual("id", "<=", intValue(4))),
			wantIDs:   seq(1, 10),
			wantFetch: []string{"list"},
			wantQuals: map[string][]testplugin.Qual{"id": {{Operator: ">", Value: int64(2)}, {Operator: "<=", Value: int64(4)}}},
		},
		{
			// Any `id =` makes it a Get; the Get sees only the `=` qual.
			name:      "id equals with a range is still a get",
			quals:     quals(qual("id", "=", intValue(5)), qual("id", ">", intValue(1))),
			wantIDs:   []int64{5},
			wantFetch: []string{"get"},
			wantQuals: map[string][]testplugin.Qual{"id": {{Operator: "=", Value: int64(5)}}},
		},
		{
			name:      "name",
			quals:     quals(qual("name", "<>", stringValue("item-1"))),
			wantIDs:   seq(1, 10),
			wantFetch: []string{"list"},
			wantQuals: map[string][]testplugin.Qual{"name": {{Operator: "<>", Value: "item-1"}}},
		},
		{
			// Postgres sends `NOT active` as `active <> true`; the SDK turns it into `= false`.
			name:      "boolean not",
			quals:     quals(qual("active", "<>", boolValue(true))),
			wantIDs:   seq(1, 10),
			wantFetch: []string{"list"},
			wantQuals: map[string][]testplugin.Qual{"active": {{Operator: "=", Value: false}}},
		},
		{
			name:      "timestamp",
			quals:     quals(qual("created_at", ">=", timeValue(day(5)))),
			wantIDs:   seq(1, 10),
			wantFetch: []string{"list"},
			wantQuals: map[string][]testplugin.Qual{"created_at": {{Operator: ">=", Value: day(5)}}},
		},
		{
			// Quals on columns that are not key columns never reach the plugin.
			name:      "non key column",
			quals:     quals(qual("score", "=", &proto.QualValue{Value: &proto.QualValue_DoubleValue{DoubleValue: 3}})),
			wantIDs:   seq(1, 10),
			wantFetch: []string{"list"},
			wantQuals: map[string][]testplugin.Qual{},
		},
	}
	srv := newServer(t, "rows = 10")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			rows, err := run(t.Context(), t, srv, scan{table: "test_types", columns: []string{"id"}, quals: tt.quals}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rows); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			calls := testplugin.Calls.ForTable("test_types")
			var fetches []string
			for _, c := range calls {
				fetches = append(fetches, c.Fetch)
			}
			if !slices.Equal(fetches, tt.wantFetch) {
				t.Fatalf("fetches = %v, want %v", fetches, tt.wantFetch)
			}
			if tt.wantQuals != nil {
				if got := fmt.Sprint(calls[0].Quals); got != fmt.Sprint(tt.wantQuals) {
					t.Errorf("quals = %s, want %s", got, fmt.Sprint(tt.wantQuals))
				}
			}
		})
	}
}

func TestRequired(t *testing.T) {
	srv := newServer(t, "")

	t.Run("missing", func(t *testing.T) {
		testplugin.Calls.Reset()
		_, err := run(t.Context(), t, srv, scan{table: "test_required", columns: []string{"kind", "n"}}, nil)
		// The SDK checks required quals itself, before calling List, and fails with a gRPC
		// Internal status (text only; no typed error) prefixed by the connection name.
		if err == nil || !strings.Contains(err.Error(), "'List' call for table 'test_required' is missing 1 required qual") {
			t.Fatalf("err = %v, want the SDK's missing required qual error", err)
		}
		if calls := testplugin.Calls.All(); len(calls) != 0 {
			t.Errorf("calls = %+v, want none", calls)
		}
	})

	t.Run("equals", func(t *testing.T) {
		testplugin.Calls.Reset()
		rows, err := run(t.Context(), t, srv, scan{
			table:   "test_required",
			columns: []string{"kind", "n", "label"},
			quals:   quals(qual("kind", "=", stringValue("disk"))),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, r := range rows {
			labels = append(labels, r["label"].(string))
		}
		slices.Sort(labels)
		if want := []string{"disk-1", "disk-2", "disk-3", "disk-4", "disk-5"}; !slices.Equal(labels, want) {
			t.Errorf("labels = %v, want %v", labels, want)
		}
	})

	t.Run("in", func(t *testing.T) {
		testplugin.Calls.Reset()
		rows, err := run(t.Context(), t, srv, scan{
			table:   "test_required",
			columns: []string{"kind", "n"},
			quals:   quals(qual("kind", "=", listValue(stringValue("a"), stringValue("b")))),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 10 {
			t.Errorf("got %d rows, want 10", len(rows))
		}
		// The SDK calls List once per IN value, concurrently, each with a single `=` qual.
		var kinds []string
		for _, c := range testplugin.Calls.ForTable("test_required") {
			if q := c.Quals["kind"]; len(q) == 1 && q[0].Operator == "=" {
				kinds = append(kinds, q[0].Value.(string))
			}
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, []string{"a", "b"}) {
			t.Errorf("list calls saw kinds %v, want one call each for [a b]", kinds)
		}
	})

	t.Run("limit", func(t *testing.T) {
		testplugin.Calls.Reset()
		rows, err := run(t.Context(), t, srv, scan{
			table:   "test_required",
			columns: []string{"kind", "n"},
			quals:   quals(qual("kind", "=", stringValue("x"))),
			limit:   2,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Errorf("got %d rows, want 2", len(rows))
		}
		if calls := testplugin.Calls.ForTable("test_required"); len(calls) != 1 || calls[0].Limit != 2 {
			t.Errorf("calls = %+v, want one with limit 2", calls)
		}
	})
}

func TestOptional(t *testing.T) {
	srv := newServer(t, "")
	tests := []struct {
		name     string
		quals    map[string]*proto.Quals
		wantRows int
	}{
		{"none", nil, 20},
		{"region is applied", quals(qual("region", "=", stringValue("eu-west-1"))), 10},
		{"size is not applied", quals(qual("size", ">", intValue(100))), 20},
		{"both", quals(qual("region", "=", stringValue("us-east-1")), qual("size", "<", intValue(50))), 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			rows, err := run(t.Context(), t, srv, scan{table: "test_optional", columns: []string{"region", "size", "name"}, quals: tt.quals}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.wantRows {
				t.Errorf("got %d rows, want %d", len(rows), tt.wantRows)
			}
			calls := testplugin.Calls.ForTable("test_optional")
			if len(calls) != 1 || len(calls[0].Quals) != len(tt.quals) {
				t.Errorf("calls = %+v, want one carrying %d qual columns", calls, len(tt.quals))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		table   string
		quals   map[string]*proto.Quals
		wantErr string
		// List errors come back prefixed with "<connection>: "; Get errors come back as is.
		prefixed bool
	}{
		{"test_error", "", "test_error", nil, "test_error: simulated API failure", true},
		{"fail list", "fail = true", "test_types", nil, "connection configured to fail", true},
		{"fail get", "fail = true", "test_types", quals(qual("id", "=", intValue(1))), "connection configured to fail", false},
		{"fail required", "fail = true", "test_required", quals(qual("kind", "=", stringValue("a"))), "connection configured to fail", true},
		{"bad delay", `delay = "soon"`, "test_slow", nil, `delay: time: invalid duration "soon"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testplugin.Calls.Reset()
			srv := newServer(t, tt.config)
			rows, err := run(t.Context(), t, srv, scan{table: tt.table, columns: []string{"id"}, quals: tt.quals}, nil)
			if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if prefixed := strings.HasPrefix(err.Error(), conn+": "); prefixed != tt.prefixed {
				t.Errorf("err = %q, prefixed by connection name: %v, want %v", err, prefixed, tt.prefixed)
			}
			if len(rows) != 0 {
				t.Errorf("got %d rows, want none", len(rows))
			}
			if calls := testplugin.Calls.ForTable(tt.table); len(calls) != 1 {
				t.Errorf("calls = %+v, want 1", calls)
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	t.Setenv("STEAMPIPE_LOG_LEVEL", "ERROR")
	srv := plugin.Server(&plugin.ServeOpts{PluginFunc: testplugin.Plugin})
	res, err := srv.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs:        []*proto.ConnectionConfig{{Connection: conn, Plugin: "test", Config: `rows = "many"`}},
		MaxCacheSizeMb: 1,
	})
	// A config that does not decode fails the connection in SetAllConnectionConfigs: both
	// in the returned error and in FailedConnections.
	if err == nil || res.GetFailedConnections()[conn] == "" {
		t.Fatalf("err = %v, failed = %v; want connection %q to fail", err, res.GetFailedConnections(), conn)
	}
}

func TestBigLimit(t *testing.T) {
	testplugin.Calls.Reset()
	srv := newServer(t, "") // big_rows defaults to a million
	start := time.Now()
	rows, err := run(t.Context(), t, srv, scan{table: "test_big", columns: []string{"id", "name", "value"}, limit: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rows); !slices.Equal(got, seq(1, 5)) {
		t.Errorf("ids = %v, want 1..5", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("limit 5 of a million rows took %v; the list did not stop early", d)
	}
	if calls := testplugin.Calls.ForTable("test_big"); len(calls) != 1 || calls[0].Limit != 5 {
		t.Errorf("calls = %+v, want one with limit 5", calls)
	}
}

func TestBigStreams(t *testing.T) {
	srv := newServer(t, "big_rows = 5000")
	rows, err := run(t.Context(), t, srv, scan{table: "test_big", columns: []string{"id", "name", "value"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rows); !slices.Equal(got, seq(1, 5000)) {
		t.Fatalf("got %d rows, want ids 1..5000", len(got))
	}
	for _, r := range rows {
		id := r["id"].(int64)
		if r["name"] != fmt.Sprintf("big-%d", id) || r["value"] != float64(id)*0.5 {
			t.Fatalf("row %v, want name big-%d value %v", r, id, float64(id)*0.5)
		}
	}
}

func TestSlowCancel(t *testing.T) {
	testplugin.Calls.Reset()
	srv := newServer(t, `delay = "20ms"`)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var seen int
	start := time.Now()
	_, err := run(ctx, t, srv, scan{table: "test_slow", columns: []string{"id", "page"}}, func(map[string]any) {
		// Cancel once the first page has arrived.
		if seen++; seen == 10 {
			cancel()
		}
	})
	// The SDK's Execute may return nil here: its select loop can take the end of the
	// stream before the connection's error (plugin_grpc.go, v5.13.1; the engine recovers
	// such errors from the plugin log, see query/lostmsg.go). What matters is that the
	// scan stops.
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled scan took %v to return", d)
	}
	pages := testplugin.Calls.SlowPages()
	if pages < 1 || pages > 3 {
		t.Errorf("pages fetched = %d, want the list to stop within a page or two of cancellation", pages)
	}
	time.Sleep(100 * time.Millisecond)
	if after := testplugin.Calls.SlowPages(); after != pages {
		t.Errorf("pages fetched grew from %d to %d after the scan returned", pages, after)
	}
}

func TestSlowAllPages(t *testing.T) {
	testplugin.Calls.Reset()
	srv := newServer(t, "")
	rows, err := run(t.Context(), t, srv, scan{table: "test_slow", columns: []string{"id", "page"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rows); !slices.Equal(got, seq(1, 1000)) {
		t.Errorf("got %d rows, want ids 1..1000", len(got))
	}
	if got := testplugin.Calls.SlowPages(); got != 100 {
		t.Errorf("pages = %d, want 100", got)
	}
}

// TestCallExecuteAsync drives a scan through the path the SDK provides for in-process hosts:
// CallExecuteAsync with an anywhere.LocalPluginStream. Rows arrive until Recv returns a nil
// response. The SDK sends that nil before it reports an error, and LocalPluginStream reads
// its error field without synchronisation, so on this path an error can be lost (a nil
// response looks like success) and `go test -race` reports a data race inside the SDK.
// The other tests use srv.Execute, which returns the error itself.
func TestCallExecuteAsync(t *testing.T) {
	testplugin.Calls.Reset()
	srv := newServer(t, "rows = 5")
	stream := anywhere.NewLocalPluginStream(t.Context())
	srv.CallExecuteAsync(scan{table: "test_types", columns: []string{"id", "name"}, limit: 3}.request(), stream)
	var rows []map[string]any
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp == nil {
			break
		}
		rows = append(rows, rowValues(t, resp.GetRow()))
	}
	if len(rows) != 3 {
		t.Errorf("got %d rows, want 3", len(rows))
	}
	if calls := testplugin.Calls.ForTable("test_types"); len(calls) != 1 || calls[0].Limit != 3 {
		t.Errorf("calls = %+v, want one with limit 3", calls)
	}
}
