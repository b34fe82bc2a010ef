package testplugin

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

func tableTestBig() *plugin.Table {
	return &plugin.Table{
		Name:        "test_big",
		Description: "Streams big_rows rows, stopping early at a limit or on cancellation.",
		List:        &plugin.ListConfig{Hydrate: listBig},
		Columns: []*plugin.Column{
			{Name: "id", Type: proto.ColumnType_INT, Description: "1..big_rows."},
			{Name: "name", Type: proto.ColumnType_STRING, Description: `"big-<id>".`},
			{Name: "value", Type: proto.ColumnType_DOUBLE, Description: "id * 0.5."},
		},
	}
}

type bigItem struct {
	ID    int64
	Name  string
	Value float64
}

func listBig(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	s, err := begin(d, "list")
	if err != nil {
		return nil, err
	}
	for i := int64(1); i <= int64(s.bigRows); i++ {
		// RowsRemaining is zero both when the limit is reached and when ctx is done.
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
		d.StreamListItem(ctx, &bigItem{ID: i, Name: fmt.Sprintf("big-%d", i), Value: float64(i) * 0.5})
	}
	return nil, nil
}
