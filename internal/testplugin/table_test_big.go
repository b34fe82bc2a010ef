package testplugin

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

func tableTestBig() *plugin.Table {
	return &plugin.Table{
		Name:        "test_big",
		Description: "Streams big_rows rows, stopping early at a limit or on cancellation.",
		List:        &plugin.ListConfig{Hydrate: listBig},
		Columns: []*plugin.Column{
			// Direct transforms: the SDK's field transforms (FromGo, FromField) compile a regexp
			// per cell in go-kit's IsFieldArray, which would make the throughput benchmark
			// measure that instead of the engine.
			{Name: "id", Type: proto.ColumnType_INT, Transform: transform.From(bigField(func(b *bigItem) any { return b.ID })), Description: "1..big_rows."},
			{Name: "name", Type: proto.ColumnType_STRING, Transform: transform.From(bigField(func(b *bigItem) any { return b.Name })), Description: `"big-<id>".`},
			{Name: "value", Type: proto.ColumnType_DOUBLE, Transform: transform.From(bigField(func(b *bigItem) any { return b.Value })), Description: "id * 0.5."},
		},
	}
}

func bigField(get func(*bigItem) any) transform.TransformFunc {
	return func(_ context.Context, d *transform.TransformData) (any, error) {
		b, ok := d.HydrateItem.(*bigItem)
		if !ok {
			return nil, fmt.Errorf("test_big: unexpected item %T", d.HydrateItem)
		}
		return get(b), nil
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
