package testplugin

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

func tableTestOptional() *plugin.Table {
	return &plugin.Table{
		Name:        "test_optional",
		Description: "20 rows over two regions; the list honours `region =` but not size.",
		List: &plugin.ListConfig{
			Hydrate: listOptional,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "region", Require: plugin.Optional, Operators: []string{"="}},
				{Name: "size", Require: plugin.Optional, Operators: []string{"=", "<", ">"}},
			},
		},
		Columns: []*plugin.Column{
			{Name: "region", Type: proto.ColumnType_STRING, Description: "us-east-1 for odd i, eu-west-1 for even i."},
			{Name: "size", Type: proto.ColumnType_INT, Description: "i * 10."},
			{Name: "name", Type: proto.ColumnType_STRING, Description: `"opt-<i>".`},
		},
	}
}

type optionalItem struct {
	Region string
	Size   int64
	Name   string
}

func optionalRegion(i int) string {
	if i%2 == 0 {
		return "eu-west-1"
	}
	return "us-east-1"
}

// listOptional filters on `region =` the way the AWS plugin only queries the regions asked
// for, and ignores size quals so the engine must apply them itself.
func listOptional(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	if _, err := begin(d, "list"); err != nil {
		return nil, err
	}
	var region string
	if kq := d.Quals["region"]; kq != nil {
		for _, q := range kq.Quals {
			if q.Operator == "=" {
				region = q.Value.GetStringValue()
			}
		}
	}
	for i := 1; i <= 20; i++ {
		if region != "" && optionalRegion(i) != region {
			continue
		}
		d.StreamListItem(ctx, &optionalItem{Region: optionalRegion(i), Size: int64(i) * 10, Name: fmt.Sprintf("opt-%d", i)})
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}
