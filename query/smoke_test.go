package query_test

import (
	"context"
	"testing"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	eng, err := query.New(ctx, query.WithPlugin("test", testplugin.Plugin), query.WithConnection("test", "test", "rows = 5"))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, q := range []string{
		"select id, name, tags ->> 'environment' as env, created_at from test_types where id > 2",
		"select id, name from test_types order by id desc",
		"select count(*) from test_types",
		"select * from test_types limit 2",
	} {
		rows, err := eng.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		t.Log(q, rows.Columns())
		for rows.Next() {
			v, _ := rows.Values()
			t.Log(v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		t.Log(rows.Stats())
	}
}
