package spoutcdk

import (
	"slices"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	text := `
organization:
  role_name: Reader
schedules:
  hourly: rate(1 hour)
  daily: " cron(0 6 * * ? *) "
  idle: rate(7 days)
sinks:
  a: {type: s3, bucket: "${BUCKET}", prefix: /runs/}
  b: {type: s3, bucket: other, prefix: "x/{{.Query}}/y"}
  c: {type: s3, bucket: other}
  d: {type: s3, bucket: "${BUCKET}", prefix: runs/}
  e: {type: webhook, url: "${HOOK}"}
queries:
  - {name: q1, schedule: daily}
  - {name: q2, schedule: hourly}
  - {name: q3}
`
	d, err := parseConfig(text, map[string]string{"BUCKET": "lake"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []schedule{{"daily", "cron(0 6 * * ? *)"}, {"hourly", "rate(1 hour)"}, {"idle", "rate(7 days)"}}
	if !slices.Equal(d.schedules, want) {
		t.Errorf("schedules = %v, want %v (sorted by group, trimmed)", d.schedules, want)
	}
	if !d.discovery || d.queryRoleName != "Reader" {
		t.Errorf("organization: discovery %v, role %q", d.discovery, d.queryRoleName)
	}
	// Sorted, deduplicated, leading "/" dropped, templated prefixes cut at "{{", and a
	// sink without a prefix granted the whole bucket. ${HOOK} is not an s3 field, so it
	// needs no value at synth time.
	wantObjects := []string{"lake/runs/", "other/", "other/x/"}
	if !slices.Equal(d.s3Objects, wantObjects) {
		t.Errorf("s3Objects = %v, want %v", d.s3Objects, wantObjects)
	}
	joined := strings.Join(d.warnings, "\n")
	for _, w := range []string{`query "q3" has no schedule group`, `schedule group "idle" has no queries`,
		"the config reads $HOOK, which neither Environment nor Secrets sets"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", d.warnings, w)
		}
	}
}

func TestParseConfigWithoutOrganization(t *testing.T) {
	d, err := parseConfig("schedules: {daily: rate(1 day)}\nqueries: [{name: q, schedule: daily}]\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.discovery || d.queryRoleName != "" || len(d.s3Objects) != 0 || len(d.warnings) != 0 {
		t.Errorf("got %+v", d)
	}
}

func TestGrantPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"spout/":                  "spout/",
		"/spout/":                 "spout/",
		"{{.Query}}/":             "",
		"spout/dt={{.Date}}/":     "spout/dt=",
		"a/{{.Query}}/{{.RunID}}": "a/",
	} {
		if got := grantPrefix(in); got != want {
			t.Errorf("grantPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryRoleName(t *testing.T) {
	for _, tt := range []struct{ props, config, want string }{
		{"", "", DefaultQueryRoleName},
		{"P", "", "P"},
		{"", "C", "C"},
		{"X", "X", "X"},
	} {
		if got, err := queryRoleName(tt.props, tt.config); err != nil || got != tt.want {
			t.Errorf("queryRoleName(%q, %q) = %q, %v; want %q", tt.props, tt.config, got, err, tt.want)
		}
	}
	if _, err := queryRoleName("", "bad name"); err == nil {
		t.Error("an invalid organization.role_name was accepted")
	}
}

func TestEnvReferences(t *testing.T) {
	text := `
# ${IN_A_COMMENT} is not read
sinks:
  db: {type: postgres, dsn_env: PG_DSN, table: "t_{{.Query}}"}
  hook: {type: webhook, url: "https://${HOST}/x?k=${KEY}", headers: {X: "${KEY}"}}
  odd: {type: webhook, url_env: "not a name"}
`
	d, err := parseConfig("schedules: {d: rate(1 day)}\n"+text, map[string]string{"HOST": "h"}, map[string]SecretRef{"PG_DSN": {Secret: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, w := range d.warnings {
		if strings.HasPrefix(w, "the config reads $") {
			missing = append(missing, w)
		}
	}
	want := []string{"the config reads $KEY, which neither Environment nor Secrets sets"}
	if !slices.Equal(missing, want) {
		t.Errorf("got %q, want %q", missing, want)
	}
}

func TestParseConfigStateStore(t *testing.T) {
	d, err := parseConfig(`
schedules: {daily: rate(1 day)}
state: {type: s3, bucket: "${STATE_BUCKET}", prefix: /spout/state/}
queries: [{name: q, schedule: daily}]
`, map[string]string{"STATE_BUCKET": "inventory-state"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.stateBucket != "inventory-state" || d.statePrefix != "spout/state/" {
		t.Errorf("state %q %q", d.stateBucket, d.statePrefix)
	}
	if d, err := parseConfig("schedules: {daily: rate(1 day)}\nstate: {type: postgres, dsn_env: PG}\nqueries: [{name: q, schedule: daily}]\n", nil, nil); err != nil || d.stateBucket != "" {
		t.Errorf("a postgres state store needs no grant: %+v, %v", d, err)
	}
	if _, err := parseConfig("schedules: {daily: rate(1 day)}\nstate: {type: s3}\nqueries: [{name: q, schedule: daily}]\n", nil, nil); err == nil ||
		!strings.Contains(err.Error(), "state.bucket") {
		t.Errorf("an s3 state store without bucket: %v", err)
	}
}
