package spoutcdk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/spoutdev/spout/cdk/internal/cdkout"
)

// The template tests share one synthesized app: starting jsii and loading aws-cdk-lib
// takes most of a test run, so the stacks below are built and synthesized once.
const (
	fullStack    = "Full"    // discovery, two schedules, s3 sinks, secrets, image asset
	minimalStack = "Minimal" // VPC lookup, SSM config, ECR image, ReadOnlyActions
	memberStack  = "Member"  // the member-account role
	scaledStack  = "Scaled"  // shards, spout serve, cron periods, a long stop timeout
)

var fullProps = QueryRunnerProps{
	ImageDirectory:   filepath.Join("testdata", "image"),
	LogRetentionDays: 90,
	Environment:      map[string]string{"LAKE_BUCKET": "inventory-lake", "SPOUT_LOG_LEVEL": "debug"},
	Secrets: map[string]SecretRef{
		"SPOUT_PG_DSN":       {Secret: "spout/postgres", Field: "dsn"},
		"ALERTS_WEBHOOK_URL": {Secret: "arn:aws:secretsmanager:us-east-1:111111111111:secret:spout/webhook-AbCdEf"},
	},
	AlarmEmail: "ops@example.com",
}

var minimalProps = QueryRunnerProps{
	ConfigParameter: "/spout/config",
	ImageRepository: "spout",
	ImageTag:        "v1.2.3",
	CPU:             512,
	MemoryMiB:       1024,
	VpcID:           "vpc-0123456789abcdef0",
	QueryRoleName:   "InventoryReader",
	ReadOnlyActions: []string{"ec2:Describe*", "s3:GetBucketPolicyStatus"},
	StopTimeout:     2 * time.Minute,
	DisableMetrics:  true,
}

// scaledProps' config is testdata/spout-scaled.yaml: groups "inventory" (rate(6 hours))
// and "weekly" (a cron expression).
var scaledProps = QueryRunnerProps{
	ImageRepository:  "spout",
	ImageTag:         "v2.0.0",
	StopTimeout:      time.Minute,
	MetricsNamespace: "Inventory/Spout",
	CronPeriods:      map[string]time.Duration{"weekly": 7 * 24 * time.Hour},
	Shards:           4,
	Environment:      map[string]string{"SPOUT_STOP_GRACE": "50s"},
	Serve: &ServeOptions{
		Peer:           awsec2.Peer_Ipv4(jsii.String("10.20.0.0/16")),
		PasswordSecret: SecretRef{Secret: "spout/serve", Field: "password"},
		TLSCertSecret:  SecretRef{Secret: "spout/serve-tls", Field: "cert"},
		TLSKeySecret:   SecretRef{Secret: "spout/serve-tls", Field: "key"},
		DesiredCount:   2,
	},
}

// vpcLookupKey is the context key the CDK reads for minimalProps' VpcID in its account
// and region.
const vpcLookupKey = "vpc-provider:account=111111111111:filter.vpc-id=vpc-0123456789abcdef0:region=eu-west-1:returnAsymmetricSubnets=true"

type synthesized struct {
	templates map[string]map[string]any   // stack name -> template JSON
	messages  map[string][]cdkout.Message // stack name -> annotations
	runners   map[string]*QueryRunner
	dir       string // the cloud assembly (cdk.out)
}

// TestMain gives the shared app an output directory that is removed afterwards (by
// default the CDK leaves one in the system temp directory per run).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spoutcdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	outdir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	outdir      string
	synthOnce   sync.Once
	synthResult *synthesized
	synthErr    error
)

// synth returns the shared synthesized app, building it on first use.
func synth(t *testing.T) *synthesized {
	t.Helper()
	synthOnce.Do(func() { synthResult, synthErr = synthesize() })
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return synthResult
}

func synthesize() (*synthesized, error) {
	full, err := os.ReadFile(filepath.Join("testdata", "spout-full.yaml"))
	if err != nil {
		return nil, err
	}
	minimal, err := os.ReadFile(filepath.Join("testdata", "spout-minimal.yaml"))
	if err != nil {
		return nil, err
	}

	// Minimal's VPC lookup is answered from context, as cdk.context.json answers it for a
	// real app after the CLI's first lookup; synth then makes no network calls.
	var vpc map[string]any
	raw, err := os.ReadFile(filepath.Join("testdata", "vpc-lookup.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &vpc); err != nil {
		return nil, err
	}
	context := map[string]any{vpcLookupKey: vpc}

	app := awscdk.NewApp(&awscdk.AppProps{Context: &context, Outdir: jsii.String(outdir)})
	s := &synthesized{runners: map[string]*QueryRunner{}}

	props := fullProps
	props.Config = string(full)
	stack := awscdk.NewStack(app, jsii.String(fullStack), nil)
	if s.runners[fullStack], err = NewQueryRunner(stack, "Runner", &props); err != nil {
		return nil, err
	}

	props = minimalProps
	props.Config = string(minimal)
	stack = awscdk.NewStack(app, jsii.String(minimalStack), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	if s.runners[minimalStack], err = NewQueryRunner(stack, "Runner", &props); err != nil {
		return nil, err
	}

	if _, err := NewMemberRoleStack(app, memberStack, nil); err != nil {
		return nil, err
	}

	scaled, err := os.ReadFile(filepath.Join("testdata", "spout-scaled.yaml"))
	if err != nil {
		return nil, err
	}
	props = scaledProps
	props.Config = string(scaled)
	stack = awscdk.NewStack(app, jsii.String(scaledStack), nil)
	if s.runners[scaledStack], err = NewQueryRunner(stack, "Runner", &props); err != nil {
		return nil, err
	}

	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	assembly := app.Synth(nil)

	dir := *assembly.Directory()
	s.dir = dir
	if s.messages, err = cdkout.Messages(dir); err != nil {
		return nil, err
	}
	s.templates = map[string]map[string]any{}
	for _, name := range []string{fullStack, minimalStack, memberStack, scaledStack} {
		if s.templates[name], err = cdkout.Template(dir, name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// template wraps a stack's template for the assertions package.
func (s *synthesized) template(stack string) assertions.Template {
	tmpl := s.templates[stack]
	return assertions.Template_FromJSON(&tmpl, nil)
}
