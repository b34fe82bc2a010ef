package testplugin

import (
	"context"
	"fmt"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

func tableTestTypes() *plugin.Table {
	return &plugin.Table{
		Name:        "test_types",
		Description: "One column of every SDK column type; rows 1..rows.",
		List: &plugin.ListConfig{
			Hydrate: listTypes,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "id", Require: plugin.Optional, Operators: []string{"=", "<>", "<", "<=", ">", ">="}},
				{Name: "name", Require: plugin.Optional, Operators: []string{"=", "<>"}},
				{Name: "active", Require: plugin.Optional, Operators: []string{"="}},
				{Name: "created_at", Require: plugin.Optional, Operators: []string{">", ">=", "<", "<="}},
			},
		},
		Get: &plugin.GetConfig{
			Hydrate:    getTypes,
			KeyColumns: plugin.SingleColumn("id"),
		},
		Columns: []*plugin.Column{
			{Name: "id", Type: proto.ColumnType_INT, Description: "1..rows."},
			{Name: "name", Type: proto.ColumnType_STRING, Description: `"item-<id>", NULL when id%7 == 0.`},
			{Name: "score", Type: proto.ColumnType_DOUBLE, Description: "id * 1.5."},
			{Name: "active", Type: proto.ColumnType_BOOL, Description: "id%2 == 0."},
			{Name: "created_at", Type: proto.ColumnType_TIMESTAMP, Description: "2026-01-01T00:00:00Z plus id days."},
			{Name: "tags", Type: proto.ColumnType_JSON, Description: "An object; some keys missing on some rows, NULL when id%10 == 0."},
			{Name: "items", Type: proto.ColumnType_JSON, Description: "An array of policy-statement-like objects."},
			{Name: "ip", Type: proto.ColumnType_IPADDR, Description: `"10.0.0.<id%256>".`},
			{Name: "cidr", Type: proto.ColumnType_CIDR, Transform: transform.FromField("CIDR"), Description: `"10.<id%256>.0.0/16".`},
			{Name: "inet", Type: proto.ColumnType_INET, Description: `"192.168.<id%256>.1/24".`},
			{Name: "path", Type: proto.ColumnType_LTREE, Description: `"root.group<id%3>.item<id>".`},
			{Name: "account_id", Type: proto.ColumnType_STRING, Description: "The connection's account_id."},
		},
	}
}

// typesItem is one test_types row; field names follow transform.FromGo's mapping.
type typesItem struct {
	ID        int64
	Name      *string
	Score     float64
	Active    bool
	CreatedAt time.Time
	// Tags is an interface so that a missing object is SQL NULL: the SDK turns a nil map
	// into the JSON text "null" instead.
	Tags      any
	Items     []map[string]string
	IP        string
	CIDR      string
	Inet      string
	Path      string
	AccountID string
}

var typesEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// typesRow builds row i. Everything is a function of i (and the account id) so tests can
// compute the expected value of any cell.
func typesRow(i int64, accountID string) *typesItem {
	item := &typesItem{
		ID:        i,
		Score:     float64(i) * 1.5,
		Active:    i%2 == 0,
		CreatedAt: typesEpoch.AddDate(0, 0, int(i)),
		Items:     []map[string]string{{"Effect": "Allow", "Action": "s3:GetObject"}},
		IP:        fmt.Sprintf("10.0.0.%d", i%256),
		CIDR:      fmt.Sprintf("10.%d.0.0/16", i%256),
		Inet:      fmt.Sprintf("192.168.%d.1/24", i%256),
		Path:      fmt.Sprintf("root.group%d.item%d", i%3, i),
		AccountID: accountID,
	}
	if i%7 != 0 {
		name := fmt.Sprintf("item-%d", i)
		item.Name = &name
	}
	// environment is always present, department only on some rows: queries like
	// tags->>'department' must cope with a missing key as well as a NULL object.
	if i%10 != 0 {
		tags := map[string]string{"environment": "dev"}
		if i%2 == 0 {
			tags["environment"] = "prod"
		}
		if i%3 != 0 {
			tags["department"] = "eng"
		}
		item.Tags = tags
	}
	if i%2 == 0 {
		item.Items = append(item.Items, map[string]string{"Effect": "Deny", "Action": "s3:PutObject"})
	}
	return item
}

// listTypes returns every row regardless of quals, so the engine's WHERE is what makes the
// result correct. An `id =` qual never gets here: it satisfies the Get key column, and the SDK
// then calls getTypes instead (once per value for an IN list), which is the pushdown that
// cuts rows.
func listTypes(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	s, err := begin(d, "list")
	if err != nil {
		return nil, err
	}
	for i := int64(1); i <= int64(s.rows); i++ {
		d.StreamListItem(ctx, typesRow(i, s.accountID))
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

func getTypes(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	s, err := begin(d, "get")
	if err != nil {
		return nil, err
	}
	id := d.EqualsQuals["id"].GetInt64Value()
	if id < 1 || id > int64(s.rows) {
		// nil, nil is how a Get says "no such row".
		return nil, nil
	}
	return typesRow(id, s.accountID), nil
}
