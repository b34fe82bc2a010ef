package testplugin

import (
	"context"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
)

const (
	slowPages    = 100
	slowPageSize = 10
)

func tableTestSlow() *plugin.Table {
	return &plugin.Table{
		Name:        "test_slow",
		Description: "100 pages of 10 rows with the connection's delay before each page.",
		List:        &plugin.ListConfig{Hydrate: listSlow},
		Columns: []*plugin.Column{
			{Name: "id", Type: proto.ColumnType_INT, Description: "1..1000."},
			{Name: "page", Type: proto.ColumnType_INT, Description: "1..100."},
		},
	}
}

type slowItem struct {
	ID   int64
	Page int64
}

func listSlow(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
	s, err := begin(d, "list")
	if err != nil {
		return nil, err
	}
	for page := int64(1); page <= slowPages; page++ {
		// Wait like a paginated API call would, but give up as soon as the query is cancelled.
		// Returning nil on cancellation is what the SDK asks of list functions; the caller
		// already knows its context is done.
		if err := sleep(ctx, s.delay); err != nil {
			return nil, nil
		}
		Calls.slowPages.Add(1)
		for j := int64(1); j <= slowPageSize; j++ {
			d.StreamListItem(ctx, &slowItem{ID: (page-1)*slowPageSize + j, Page: page})
		}
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
