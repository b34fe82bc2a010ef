package query_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/spoutdev/spout/internal/testplugin"
	"github.com/spoutdev/spout/query"
)

// An engine hosts plugins by name and serves their connections; the AWS plugin is
// registered the same way: query.WithPlugin("aws", aws.Plugin).
func ExampleNew() {
	ctx := context.Background()
	eng, err := query.New(ctx,
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", `rows = 3`))
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	t, err := eng.Table("test_required")
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range t.ListKeyColumns {
		if k.Require == "required" {
			fmt.Println(t.Name, "needs a qual on", k.Name)
		}
	}
	// Output: test_required needs a qual on kind
}

func ExampleEngine_Query() {
	ctx := context.Background()
	eng, err := query.New(ctx,
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", `rows = 5`))
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	rows, err := eng.Query(ctx, `select id, name, score
	                             from test_types
	                             where id <= 2
	                             order by id`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		var score float64
		if err := rows.Scan(&id, &name, &score); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, name, score)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 1 item-1 1.5
	// 2 item-2 3
}

// Errors in the query text say where they are.
func ExampleEngine_Plan() {
	ctx := context.Background()
	eng, err := query.New(ctx,
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", ""))
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	_, err = eng.Plan(ctx, "select label\nfrom test_required")
	var mq *query.MissingQualError
	if errors.As(err, &mq) {
		fmt.Printf("line %d, column %d: %s needs %v\n", mq.Line, mq.Column, mq.Table, mq.Columns)
	}
	// Output: line 2, column 6: test_required needs [kind]
}

// A scan cache lets a batch of queries, such as one scheduled run, share their plugin
// scans: the second query below is served from the first one's rows, without an API call.
func ExampleEngine_NewScanCache() {
	ctx := context.Background()
	eng, err := query.New(ctx,
		query.WithPlugin("test", testplugin.Plugin),
		query.WithConnection("test", "test", `rows = 5`))
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	cache := eng.NewScanCache(query.ScanCacheOptions{MemoryBytes: 64 << 20})
	defer cache.Close()
	for _, sql := range []string{
		"select id, name, score from test_types",
		"select count(*) from test_types where score > 3", // a subset of the columns: served
	} {
		rows, err := eng.Query(ctx, sql, query.WithScanCache(cache))
		if err != nil {
			log.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			log.Fatal(err)
		}
		for _, s := range rows.Stats() {
			fmt.Printf("%s: %d plugin scans, %d from the cache\n", s.Table, s.PluginScans, s.CachedScans)
		}
	}
	st := cache.Stats()
	fmt.Println("run:", st.PluginScans, "plugin scans,", st.CachedScans, "from the cache")
	// Output:
	// test_types: 1 plugin scans, 0 from the cache
	// test_types: 0 plugin scans, 1 from the cache
	// run: 1 plugin scans, 1 from the cache
}
