package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
)

// Every examples/*/spout.yaml runs as written against the local fake AWS: only the
// environment it documents is set, pointing at local endpoints.
func TestExamplesRunAsWritten(t *testing.T) {
	files, err := filepath.Glob("../examples/*/spout.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	checks := map[string]func(t *testing.T, path string){
		"tagging-policy": checkTaggingPolicyExample,
		"public-buckets": checkPublicBucketsExample,
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		check, ok := checks[name]
		if !ok {
			t.Errorf("examples/%s/spout.yaml has no check in %s: add one", name, t.Name())
			continue
		}
		t.Run(name, func(t *testing.T) { check(t, f) })
	}
}

func loadExample(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	return cfg
}

func checkTaggingPolicyExample(t *testing.T, path string) {
	srv := startFake(t, fakeaws.Options{Seed: 33, Accounts: []string{mgmtAccount, memberA, memberB}, ThrottleRate: 0.1})
	dsn := pgtest.DSN(t)
	hook := newWebhookReceiver(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	t.Setenv("SPOUT_ACCOUNT_ENDPOINT_URL", srv.URL()+fakeaws.AccountPathPrefix+"{{.AccountID}}")
	t.Setenv("SPOUT_PG_DSN", dsn)
	t.Setenv("SPOUT_SUMMARY_WEBHOOK_URL", hook.srv.URL)
	// The example's profiles take credentials from the ECS task role; the SDK insists on
	// the variable ECS sets when it loads such a profile. With endpoint_url set the plugin
	// signs with the environment's keys instead, so the URI is never called.
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/unused-by-the-test")

	m, _ := runParsed(t, loadExample(t, path), runner.Options{Schedule: "daily"})
	if m.ExitCode != 0 {
		t.Fatalf("exit %d: %+v", m.ExitCode, m)
	}

	now := time.Now()
	var want []string
	perAccount := map[string]int{}
	for _, s := range srv.Inventory().Stacks {
		if s.Account == mgmtAccount || s.LastUpdated.IsZero() || int(now.Sub(s.LastUpdated).Hours()/24) >= 90 {
			continue
		}
		if _, ok := s.Tags["environment"]; ok {
			if _, ok := s.Tags["department"]; ok {
				if _, ok := s.Tags["service"]; ok {
					continue
				}
			}
		}
		want = append(want, s.Account+"/"+s.Region+"/"+s.Name)
		perAccount[s.Account]++
	}
	sort.Strings(want)
	sameList(t, "untagged_stacks in postgres",
		pgStrings(t, dsn, "select account_id || '/' || region || '/' || name from untagged_stacks"), want)

	// The summary: one Slack message, one block per account.
	bodies := hook.received()
	if len(bodies) != 1 {
		t.Fatalf("webhook got %d messages, want 1: %v", len(bodies), bodies)
	}
	var lines []string
	for _, b := range bodies[0]["blocks"].([]any) {
		lines = append(lines, b.(map[string]any)["text"].(map[string]any)["text"].(string))
	}
	wantLines := []string{
		fmt.Sprintf("account %s: %d stacks", memberA, perAccount[memberA]),
		fmt.Sprintf("account %s: %d stacks", memberB, perAccount[memberB]),
	}
	if !slices.Equal(lines, wantLines) || !strings.Contains(bodies[0]["text"].(string), m.RunID) {
		t.Errorf("summary = %v, want blocks %q", bodies[0], wantLines)
	}
}

func checkPublicBucketsExample(t *testing.T, path string) {
	srv := startFake(t, fakeaws.Options{Seed: 34})
	hook := newWebhookReceiver(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	t.Setenv("SPOUT_SLACK_WEBHOOK_URL", hook.srv.URL)
	// The example also prints the buckets on standard output.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	printed := make(chan []string)
	go func() {
		var lines []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		printed <- lines
	}()
	m, _ := runParsed(t, loadExample(t, path), runner.Options{})
	os.Stdout = stdout
	w.Close()
	lines := <-printed
	if m.ExitCode != 0 {
		t.Fatalf("exit %d: %+v", m.ExitCode, m)
	}

	// The connection acts as the management account: its public buckets.
	var want []string
	for _, b := range srv.Inventory().Buckets {
		if b.Account == mgmtAccount && b.Public {
			want = append(want, fmt.Sprintf("`%s` in %s, account %s", b.Name, b.Region, b.Account))
		}
	}
	sort.Strings(want)
	var got []string
	for _, body := range hook.received() {
		for _, b := range body["blocks"].([]any)[1:] {
			got = append(got, b.(map[string]any)["text"].(map[string]any)["text"].(string))
		}
	}
	sameList(t, "slack lines", got, want)
	if len(lines) != len(want) || !strings.Contains(lines[0], `"bucket_policy_is_public":true`) {
		t.Errorf("standard output = %q, want one JSON line per public bucket", lines)
	}
}
