package discovery_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoutdev/spout/internal/fakeaws"
	"github.com/spoutdev/spout/runner/discovery"
)

const (
	mgmt   = "111111111111"
	acct2  = "222222222222"
	acct3  = "333333333333"
	denied = "444444444444"
	excl   = "555555555555"
)

// fakeOrg starts a fake AWS with five accounts and points the SDK's default chain at it,
// with an existing shared config file holding one profile.
func fakeOrg(t *testing.T, opts fakeaws.Options) (*fakeaws.Server, string) {
	t.Helper()
	opts.Accounts = []string{mgmt, acct2, acct3, denied, excl}
	srv := fakeaws.New(opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	existing := filepath.Join(dir, "config")
	if err := os.WriteFile(existing, []byte("[profile prod]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            srv.URL(),
		"AWS_ACCESS_KEY_ID":           "AKIDSPOUTTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_CONFIG_FILE":             existing,
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_PROFILE":                 "",
		"AWS_SESSION_TOKEN":           "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
	return srv, existing
}

func TestDiscoverOrganization(t *testing.T) {
	srv, existing := fakeOrg(t, fakeaws.Options{Seed: 5, ThrottleRate: 0.3, DenyAssume: []string{denied}})
	res, err := discovery.Discover(context.Background(), discovery.Options{
		RoleName:         "SpoutQueryRole",
		Regions:          []string{"us-east-1", "eu-west-1"},
		Exclude:          []string{excl},
		CredentialSource: "Environment",
		Config:           `ignore_error_codes = ["AccessDenied"]`,
		EndpointURL:      srv.URL() + "/_account/{{.AccountID}}",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })

	if res.Management != mgmt {
		t.Errorf("management account = %q, want %s", res.Management, mgmt)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.ID+": "+s.Reason)
	}
	if want := []string{
		mgmt + ": management account (set organization.include_management to query it)",
		excl + ": excluded by organization.exclude",
	}; strings.Join(skipped, "|") != strings.Join(want, "|") {
		t.Errorf("skipped = %q, want %q", skipped, want)
	}
	var ready, failed []string
	for _, a := range res.Ready() {
		ready = append(ready, a.Connection)
	}
	for _, a := range res.Failed() {
		failed = append(failed, a.Connection+": "+a.Err.Error())
	}
	if strings.Join(ready, ",") != "aws_"+acct2+",aws_"+acct3 {
		t.Errorf("ready = %v", ready)
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "aws_"+denied+": assuming arn:aws:iam::"+denied+":role/SpoutQueryRole:") ||
		!strings.Contains(failed[0], "AccessDenied") {
		t.Errorf("failed = %q, want the AccessDenied of %s", failed, denied)
	}

	a := res.Ready()[0]
	wantHCL := `profile = "spout_222222222222"
regions = ["us-east-1", "eu-west-1"]
endpoint_url = "` + srv.URL() + `/_account/222222222222"
s3_force_path_style = true
ignore_error_codes = ["AccessDenied"]
`
	if a.HCL != wantHCL || a.Name == "" || a.RoleARN != "arn:aws:iam::222222222222:role/SpoutQueryRole" {
		t.Errorf("account = %+v\nHCL:\n%s\nwant:\n%s", a, a.HCL, wantHCL)
	}
	if res.Failed()[0].HCL != "" {
		t.Errorf("a failed account has a connection: %q", res.Failed()[0].HCL)
	}

	// The pre-flight assumed each member role once, as the task.
	assumed := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Action == "AssumeRole" && r.Status == 200 {
			assumed[r.Account]++
		}
		if r.Action == "ListAccounts" && r.Status == 200 && r.Account != mgmt {
			t.Errorf("ListAccounts as %s, want the management account's own credentials", r.Account)
		}
	}
	if len(assumed) != 1 || assumed[mgmt] != 2 {
		t.Errorf("successful AssumeRole calls by caller account = %v, want 2 by %s", assumed, mgmt)
	}

	// The private config file: the existing profiles first, then one per ready account.
	path := res.ConfigFile()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	text := string(b)
	if !strings.HasPrefix(text, "[profile prod]\nregion = eu-west-1\n") {
		t.Errorf("the existing profiles are not kept:\n%s", text)
	}
	wantProfile := `[profile spout_333333333333]
role_arn = arn:aws:iam::333333333333:role/SpoutQueryRole
role_session_name = spout
credential_source = Environment
region = us-east-1
`
	if !strings.Contains(text, wantProfile) || strings.Contains(text, "spout_"+denied) || strings.Contains(text, "spout_"+mgmt) {
		t.Errorf("config file:\n%s\nwant a profile per ready account only, like\n%s", text, wantProfile)
	}

	if err := res.Activate(); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("AWS_CONFIG_FILE"); got != path {
		t.Errorf("after Activate AWS_CONFIG_FILE = %q, want %q", got, path)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("AWS_CONFIG_FILE"); got != existing {
		t.Errorf("after Close AWS_CONFIG_FILE = %q, want %q restored", got, existing)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("config file still exists after Close: %v", err)
	}
}

func TestDiscoverIncludesManagementWhenAsked(t *testing.T) {
	fakeOrg(t, fakeaws.Options{Seed: 1})
	res, err := discovery.Discover(context.Background(), discovery.Options{RoleName: "R", IncludeManagement: true, Exclude: []string{acct3, denied, excl}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	// AWS_CONFIG_FILE is process-wide: one active Result at a time.
	other, err := discovery.Discover(context.Background(), discovery.Options{RoleName: "R"})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Activate(); err != nil {
		t.Fatal(err)
	}
	if err := other.Activate(); err == nil {
		t.Error("a second Result activated while the first is active")
	}
	other.Close()
	if got := os.Getenv("AWS_CONFIG_FILE"); got != res.ConfigFile() {
		t.Errorf("closing an inactive Result changed AWS_CONFIG_FILE to %q", got)
	}
	var ready []string
	for _, a := range res.Ready() {
		ready = append(ready, a.ID)
		if !strings.HasPrefix(a.HCL, `profile = "spout_`+a.ID+`"`+"\n") || strings.Contains(a.HCL, "regions") || strings.Contains(a.HCL, "endpoint_url") {
			t.Errorf("HCL without regions or endpoint = %q", a.HCL)
		}
	}
	if strings.Join(ready, ",") != mgmt+","+acct2 {
		t.Errorf("ready = %v, want the management account and %s", ready, acct2)
	}
	b, _ := os.ReadFile(res.ConfigFile())
	if !strings.Contains(string(b), "credential_source = EcsContainer\n") {
		t.Errorf("default credential source is not EcsContainer:\n%s", b)
	}
}

func TestDiscoverFailsWhenTheOrganizationCannotBeListed(t *testing.T) {
	srv, _ := fakeOrg(t, fakeaws.Options{})
	// A member account may not list the organization.
	t.Setenv("AWS_ENDPOINT_URL", srv.AccountURL(acct2))
	_, err := discovery.Discover(context.Background(), discovery.Options{RoleName: "R"})
	if err == nil || !strings.Contains(err.Error(), "listing the organization's accounts") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v", err)
	}
}
