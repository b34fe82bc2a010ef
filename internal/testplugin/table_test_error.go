package testplugin

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

func tableTestError() *plugin.Table {
	return &plugin.Table{
		Name:        "test_error",
		Description: "A list that always fails, as an API outage would.",
		List:        &plugin.ListConfig{Hydrate: listError},
		Columns: []*plugin.Column{
			{Name: "id", Type: proto.ColumnType_INT},
		},
	}
}

func listError(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	if _, err := begin(d, "list"); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("test_error: simulated API failure")
}
