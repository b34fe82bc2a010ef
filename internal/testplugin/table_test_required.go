package testplugin

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

func tableTestRequired() *plugin.Table {
	return &plugin.Table{
		Name:        "test_required",
		Description: "A list that requires `kind =`: 5 rows per kind.",
		List: &plugin.ListConfig{
			Hydrate: listRequired,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "kind", Require: plugin.Required, Operators: []string{"="}},
			},
		},
		Columns: []*plugin.Column{
			{Name: "kind", Type: proto.ColumnType_STRING, Description: "The kind asked for."},
			{Name: "n", Type: proto.ColumnType_INT, Description: "1..5."},
			{Name: "label", Type: proto.ColumnType_STRING, Description: `"<kind>-<n>".`},
		},
	}
}

type requiredItem struct {
	Kind  string
	N     int64
	Label string
}

func listRequired(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	if _, err := begin(d, "list"); err != nil {
		return nil, err
	}
	// The SDK splits `kind IN (...)` into one call per value, so this normally sees one
	// string; a list value is still handled in case the SDK passes it through unsplit.
	var kinds []string
	for _, q := range d.Quals["kind"].Quals {
		switch v := qualValue(q.Value).(type) {
		case string:
			kinds = append(kinds, v)
		case []any:
			for _, item := range v {
				if s, ok := item.(string); ok {
					kinds = append(kinds, s)
				}
			}
		}
	}
	for _, kind := range kinds {
		for n := int64(1); n <= 5; n++ {
			d.StreamListItem(ctx, &requiredItem{Kind: kind, N: n, Label: fmt.Sprintf("%s-%d", kind, n)})
			if d.RowsRemaining(ctx) == 0 {
				return nil, nil
			}
		}
	}
	return nil, nil
}
