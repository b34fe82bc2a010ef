//go:build !nodemo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
)

func TestDemoPrintsTheNonCompliantStacks(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--output", "ndjson"}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errOut.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		got = append(got, row["account_id"].(string)+"/"+row["region"].(string)+"/"+row["name"].(string))
	}
	// The same seed the demo uses; the rows it must print follow from the inventory.
	inv := fakeaws.New(fakeaws.Options{Seed: 1}).Inventory()
	var want []string
	for _, s := range inv.Stacks {
		if s.LastUpdated.IsZero() || int(time.Since(s.LastUpdated).Hours()/24) >= 90 {
			continue
		}
		if s.Tags["environment"] != "" && s.Tags["department"] != "" && s.Tags["service"] != "" {
			continue
		}
		want = append(want, s.Account+"/"+s.Region+"/"+s.Name)
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("the demo inventory has no non-compliant stacks")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("demo printed %d stacks, want %d\ngot %v\nwant %v", len(got), len(want), got, want)
	}
	if !strings.Contains(errOut.String(), "stacks break the tagging policy") {
		t.Errorf("demo summary missing from stderr: %s", errOut.String())
	}
}
