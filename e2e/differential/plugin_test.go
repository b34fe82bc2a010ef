package differential

import (
	"context"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

// fixturePlugin serves the fixture under the real AWS table names and column schemas. Each
// table has one List hydrate streaming every fixture row and no key columns, so any query
// plans, the plugin returns all rows, and the SQL engine does all the filtering: exactly
// what the comparison with Postgres is about.
func fixturePlugin(fx *fixture) plugin.PluginFunc {
	return func(ctx context.Context) *plugin.Plugin {
		tables := map[string]*plugin.Table{}
		for name, t := range fx.tables {
			var cols []*plugin.Column
			for _, c := range t.cols {
				cols = append(cols, &plugin.Column{Name: c.name, Type: c.typ, Transform: transform.FromP(mapKey, c.name)})
			}
			rows := t.rows
			tables[name] = &plugin.Table{
				Name:    name,
				Columns: cols,
				List: &plugin.ListConfig{Hydrate: func(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
					for _, r := range rows {
						d.StreamListItem(ctx, fixtureRow(r))
					}
					return nil, nil
				}},
			}
		}
		return &plugin.Plugin{Name: "aws", TableMap: tables, DefaultTransform: transform.FromGo()}
	}
}

// fixtureRow is a row as the hydrate hands it to the SDK.
type fixtureRow map[string]any

func mapKey(_ context.Context, d *transform.TransformData) (any, error) {
	return d.HydrateItem.(fixtureRow)[d.Param.(string)], nil
}
