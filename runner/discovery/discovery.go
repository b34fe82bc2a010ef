// Package discovery turns an AWS organization into Steampipe AWS connections: one per
// active member account, each assuming the same role in its account.
//
// Discover lists the organization's accounts with the caller's own credentials
// (organizations:ListAccounts), skips the management account and excluded ones, and
// writes a private AWS config file with one profile per account:
//
//	[profile spout_222222222222]
//	role_arn          = arn:aws:iam::222222222222:role/SpoutQueryRole
//	role_session_name = spout
//	credential_source = EcsContainer
//
// Each account's connection is `profile = "spout_<id>"` plus the configured regions, so
// the AWS plugin assumes the role itself, with the SDK refreshing the credentials. Before
// that, Discover assumes every role once with its own STS client: an account whose role
// cannot be assumed is reported with its error (and left out of the connections) instead
// of failing every scan that touches it.
//
// The profiles are found through AWS_CONFIG_FILE, which is process-wide; Activate points
// it at the generated file (a copy of the existing config plus the profiles) and Close
// restores it and removes the file.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"
)

// Options says how accounts are discovered and reached.
type Options struct {
	RoleName          string   // the role assumed in every account; required
	SessionName       string   // default "spout"
	ExternalID        string   // optional
	CredentialSource  string   // EcsContainer (default), Environment or Ec2InstanceMetadata
	Regions           []string // the plugin's regions setting; none: the plugin's default
	Exclude           []string // account ids to skip
	IncludeManagement bool     // also query the management account
	// Config is extra HCL added to every account connection.
	Config string
	// EndpointURL, when set, becomes every account connection's endpoint_url (with
	// s3_force_path_style); {{.AccountID}} in it is replaced by the account's id.
	EndpointURL string
	// ConnectionPrefix names the connections: prefix + account id. Default "aws_".
	ConnectionPrefix string
	// Preflight bounds the AssumeRole checks running at once; default 8.
	Preflight int
	// Select, when set, keeps only the accounts (by id) it returns true for: the others
	// are left to another process (a shard of a sharded run), so their roles are not
	// assumed and no connection is made for them. They are listed in Result.Unselected.
	Select func(accountID string) bool
	// Logger receives discovery's records (an account whose role cannot be assumed);
	// nil discards them.
	Logger *slog.Logger
}

// Account is one member account that discovery will query.
type Account struct {
	ID         string
	Name       string
	Connection string // the connection's name, e.g. aws_222222222222
	Profile    string // the AWS config profile, e.g. spout_222222222222
	RoleARN    string
	// Err is why the role could not be assumed; nil for an account that is ready.
	Err error
	// HCL is the connection's config body (empty when Err is set).
	HCL string
}

// Skipped is an account discovery left out on purpose.
type Skipped struct {
	ID     string
	Name   string
	Reason string
}

// Result is what Discover found.
type Result struct {
	Management string    // the organization's management account
	Accounts   []Account // ready and failed, sorted by id
	Skipped    []Skipped // sorted by id
	// Unselected are the ids of the accounts Options.Select left out, sorted.
	Unselected []string

	configFile string
	restore    func()
	closeOnce  sync.Once
}

// Ready returns the accounts whose role could be assumed.
func (r *Result) Ready() []Account {
	var out []Account
	for _, a := range r.Accounts {
		if a.Err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Failed returns the accounts whose role could not be assumed.
func (r *Result) Failed() []Account {
	var out []Account
	for _, a := range r.Accounts {
		if a.Err != nil {
			out = append(out, a)
		}
	}
	return out
}

// ConfigFile is the path of the generated AWS config file.
func (r *Result) ConfigFile() string { return r.configFile }

// awsConfigFile guards AWS_CONFIG_FILE. The AWS plugin's connection config names a
// profile but not the file holding it (it has no such option), and the SDK it builds its
// clients with reads the file's path from this variable only; so the variable, which is
// process-wide, is the one way to hand it the generated profiles. At most one Result
// holds it at a time.
var awsConfigFile struct {
	sync.Mutex
	owner *Result
}

// Activate points AWS_CONFIG_FILE at the generated file, for the plugin's SDK clients
// to find the profiles; Close restores the previous value. The variable is
// process-wide: while a Result is active, everything in the process that loads AWS
// configuration sees its file, and activating another Result is an error.
func (r *Result) Activate() error {
	awsConfigFile.Lock()
	defer awsConfigFile.Unlock()
	switch awsConfigFile.owner {
	case r:
		return nil
	case nil:
	default:
		return errors.New("discovery: AWS_CONFIG_FILE is already set by another active discovery result")
	}
	old, had := os.LookupEnv("AWS_CONFIG_FILE")
	if err := os.Setenv("AWS_CONFIG_FILE", r.configFile); err != nil {
		return fmt.Errorf("discovery: setting AWS_CONFIG_FILE: %w", err)
	}
	awsConfigFile.owner = r
	r.restore = func() {
		awsConfigFile.Lock()
		defer awsConfigFile.Unlock()
		if had {
			os.Setenv("AWS_CONFIG_FILE", old)
		} else {
			os.Unsetenv("AWS_CONFIG_FILE")
		}
		awsConfigFile.owner = nil
	}
	return nil
}

// Close restores AWS_CONFIG_FILE and removes the generated file. It is safe to call more
// than once.
func (r *Result) Close() error {
	var err error
	r.closeOnce.Do(func() {
		if r.restore != nil {
			r.restore()
		}
		if r.configFile != "" {
			err = os.Remove(r.configFile)
		}
	})
	return err
}

// Credential sources a profile may name.
var credentialSources = []string{"EcsContainer", "Environment", "Ec2InstanceMetadata"}

// Discover lists the organization's accounts and prepares their connections. It fails
// only when the organization cannot be listed; a role that cannot be assumed is recorded
// on its Account.
func Discover(ctx context.Context, o Options) (*Result, error) {
	o, endpoint, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(func() aws.Retryer {
		// Organizations allows a few calls per second per organization; other runs may
		// be listing too.
		return retry.AddWithMaxAttempts(retry.NewStandard(), 10)
	}))
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration for discovery: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // Organizations is global; STS answers in every region
	}
	found, err := listAccounts(ctx, organizations.NewFromConfig(cfg))
	if err != nil {
		return nil, err
	}

	res := &Result{}
	var todo []*Account
	for _, a := range found {
		id, name := aws.ToString(a.Id), aws.ToString(a.Name)
		partition, mgmt := "aws", ""
		if parsed, err := arn.Parse(aws.ToString(a.Arn)); err == nil {
			// arn:aws:organizations::<management account>:account/o-…/<id>
			partition, mgmt = parsed.Partition, parsed.AccountID
		}
		if mgmt != "" {
			res.Management = mgmt
		}
		reason := ""
		switch {
		case a.Status != orgtypes.AccountStatusActive:
			reason = "account status " + string(a.Status)
		case slices.Contains(o.Exclude, id):
			reason = "excluded by organization.exclude"
		case id == mgmt && !o.IncludeManagement:
			reason = "management account (set organization.include_management to query it)"
		}
		if reason != "" {
			res.Skipped = append(res.Skipped, Skipped{ID: id, Name: name, Reason: reason})
			o.Logger.Info("account skipped", "account_id", id, "account_name", name, "reason", reason)
			continue
		}
		if o.Select != nil && !o.Select(id) {
			res.Unselected = append(res.Unselected, id)
			continue
		}
		todo = append(todo, &Account{
			ID:         id,
			Name:       name,
			Connection: o.ConnectionPrefix + id,
			Profile:    "spout_" + id,
			RoleARN:    fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, id, o.RoleName),
		})
	}

	preflight(ctx, sts.NewFromConfig(cfg), o, todo)
	for _, a := range todo {
		if a.Err == nil {
			a.HCL, err = connectionHCL(o, endpoint, a)
			if err != nil {
				return nil, err
			}
			o.Logger.Info("account ready", "account_id", a.ID, "account_name", a.Name, "connection", a.Connection)
		} else {
			o.Logger.Warn("account unreachable: its rows will be missing", "account_id", a.ID, "account_name", a.Name,
				"connection", a.Connection, "error", a.Err.Error())
		}
		res.Accounts = append(res.Accounts, *a)
	}
	slices.SortFunc(res.Accounts, func(a, b Account) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(res.Skipped, func(a, b Skipped) int { return strings.Compare(a.ID, b.ID) })
	slices.Sort(res.Unselected)

	if res.configFile, err = writeConfigFile(o, res.Ready()); err != nil {
		return nil, err
	}
	return res, nil
}

func withDefaults(o Options) (Options, *template.Template, error) {
	if o.RoleName == "" {
		return o, nil, errors.New("discovery: a role name is required")
	}
	if o.SessionName == "" {
		o.SessionName = "spout"
	}
	if o.CredentialSource == "" {
		o.CredentialSource = "EcsContainer"
	}
	if !slices.Contains(credentialSources, o.CredentialSource) {
		return o, nil, fmt.Errorf("discovery: credential source %q is not one of %s", o.CredentialSource, strings.Join(credentialSources, ", "))
	}
	if o.ConnectionPrefix == "" {
		o.ConnectionPrefix = "aws_"
	}
	if o.Preflight <= 0 {
		o.Preflight = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.EndpointURL == "" {
		return o, nil, nil
	}
	t, err := template.New("endpoint_url").Option("missingkey=error").Parse(o.EndpointURL)
	if err != nil {
		return o, nil, fmt.Errorf("discovery: endpoint_url: %w", err)
	}
	return o, t, nil
}

func listAccounts(ctx context.Context, client *organizations.Client) ([]orgtypes.Account, error) {
	var out []orgtypes.Account
	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the organization's accounts (organizations:ListAccounts with the task's credentials): %w", err)
		}
		out = append(out, page.Accounts...)
	}
	return out, nil
}

// preflight assumes every account's role once, so that an account the runner cannot
// enter is known before any query, with the error STS gave.
func preflight(ctx context.Context, client *sts.Client, o Options, accounts []*Account) {
	var g errgroup.Group
	g.SetLimit(o.Preflight)
	for _, a := range accounts {
		g.Go(func() error {
			in := &sts.AssumeRoleInput{
				RoleArn:         aws.String(a.RoleARN),
				RoleSessionName: aws.String(o.SessionName),
				DurationSeconds: aws.Int32(900), // the shortest allowed: the credentials are not used
			}
			if o.ExternalID != "" {
				in.ExternalId = aws.String(o.ExternalID)
			}
			if _, err := client.AssumeRole(ctx, in); err != nil {
				a.Err = fmt.Errorf("assuming %s: %w", a.RoleARN, err)
			}
			return nil
		})
	}
	g.Wait()
}

// connectionHCL is the body of a Steampipe AWS connection for a.
func connectionHCL(o Options, endpoint *template.Template, a *Account) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "profile = %s\n", hclString(a.Profile))
	if len(o.Regions) > 0 {
		quoted := make([]string, len(o.Regions))
		for i, r := range o.Regions {
			quoted[i] = hclString(r)
		}
		fmt.Fprintf(&b, "regions = [%s]\n", strings.Join(quoted, ", "))
	}
	if endpoint != nil {
		var url strings.Builder
		if err := endpoint.Execute(&url, struct{ AccountID string }{a.ID}); err != nil {
			return "", fmt.Errorf("discovery: endpoint_url: %w", err)
		}
		// The plugin sends every call of a connection with endpoint_url to that URL with
		// the environment's credentials (it ignores the profile then), and an endpoint
		// other than AWS's rarely serves virtual-hosted buckets.
		fmt.Fprintf(&b, "endpoint_url = %s\ns3_force_path_style = true\n", hclString(url.String()))
	}
	if extra := strings.TrimSpace(o.Config); extra != "" {
		b.WriteString(extra + "\n")
	}
	return b.String(), nil
}

// hclString quotes s for HCL: Go's quoting, with HCL's template sequences escaped.
func hclString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// writeConfigFile writes, readable by this user only, the AWS config the SDK would read
// anyway (so static connections keep their profiles) followed by one profile per account.
func writeConfigFile(o Options, accounts []Account) (string, error) {
	var b strings.Builder
	if existing := existingConfig(); existing != "" {
		b.WriteString(strings.TrimRight(existing, "\n"))
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "# Written by spout organization discovery at %s; removed when the run ends.\n\n", time.Now().UTC().Format(time.RFC3339))
	region := stsRegion(o.Regions)
	for _, a := range accounts {
		fmt.Fprintf(&b, "[profile %s]\n", a.Profile)
		fmt.Fprintf(&b, "role_arn = %s\n", a.RoleARN)
		fmt.Fprintf(&b, "role_session_name = %s\n", o.SessionName)
		fmt.Fprintf(&b, "credential_source = %s\n", o.CredentialSource)
		if o.ExternalID != "" {
			fmt.Fprintf(&b, "external_id = %s\n", o.ExternalID)
		}
		if region != "" {
			// The SDK's background AssumeRole calls need a region of their own.
			fmt.Fprintf(&b, "region = %s\n", region)
		}
		b.WriteString("\n")
	}
	f, err := os.CreateTemp("", "spout-aws-config-*") // created 0600
	if err != nil {
		return "", fmt.Errorf("writing the discovered accounts' AWS config: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the discovered accounts' AWS config: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the discovered accounts' AWS config: %w", err)
	}
	return f.Name(), nil
}

// existingConfig is the shared config file the SDK would otherwise read.
func existingConfig() string {
	path := os.Getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, ".aws", "config")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// stsRegion picks the region for the profiles' STS calls: the environment's, else the
// first configured region that is not a wildcard.
func stsRegion(regions []string) string {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	for _, r := range regions {
		if !strings.ContainsAny(r, "*?[") {
			return r
		}
	}
	return "us-east-1"
}
