package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
)

// The program runs as written against the local fake AWS: only its connection settings
// point there.
func TestEmbedPrintsThePolicyBreakers(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDSPOUTTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
	srv := fakeaws.New(fakeaws.Options{Seed: 8})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	acct := srv.Inventory().Accounts[1].ID

	var out bytes.Buffer
	if err := run(context.Background(), srv.PluginConfig(acct), &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var s stack
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		env := "<none>"
		if s.Environment != nil {
			env = *s.Environment
		}
		got = append(got, s.Account+"/"+s.Region+"/"+s.Name+"/"+env+"/"+s.LastUpdated.Format(time.RFC3339))
	}
	var want []string
	for _, s := range srv.Inventory().Stacks {
		if s.Account != acct || s.LastUpdated.IsZero() || int(time.Since(s.LastUpdated).Hours()/24) >= 90 {
			continue
		}
		env, ok := s.Tags["environment"]
		if ok && (env == "prod" || env == "staging" || env == "dev") {
			continue
		}
		if !ok {
			env = "<none>"
		}
		want = append(want, s.Account+"/"+s.Region+"/"+s.Name+"/"+env+"/"+s.LastUpdated.UTC().Format(time.RFC3339))
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("the seeded inventory breaks no policy; the test proves nothing")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d stacks, want %d\ngot:  %v\nwant: %v", len(got), len(want), got, want)
	}
}
