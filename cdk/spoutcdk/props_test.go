package spoutcdk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
)

const validConfig = `
schedules:
  daily: cron(0 6 * * ? *)
queries:
  - name: q
    schedule: daily
    sql: select 1
`

func validProps() QueryRunnerProps {
	return QueryRunnerProps{Config: validConfig, ImageRepository: "spout", ImageTag: "v1"}
}

// TestBadPropsFailAtSynth checks that NewQueryRunner refuses each bad prop with a
// *PropError naming it, before creating anything.
func TestBadPropsFailAtSynth(t *testing.T) {
	app := awscdk.NewApp(nil)
	agnostic := awscdk.NewStack(app, jsii.String("Agnostic"), nil)
	placed := awscdk.NewStack(app, jsii.String("Placed"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	otherVpc := awsec2.NewVpc(placed, jsii.String("OtherVpc"), nil)

	tests := []struct {
		name   string
		stack  awscdk.Stack
		change func(*QueryRunnerProps)
		prop   string
		msg    string
	}{
		{"no schedules", agnostic, func(p *QueryRunnerProps) { p.Config = "queries: []\n" },
			"Config", "no schedule groups"},
		{"empty schedules", agnostic, func(p *QueryRunnerProps) { p.Config = "schedules: {}\n" },
			"Config", "no schedule groups"},
		{"no config", agnostic, func(p *QueryRunnerProps) { p.Config = "" },
			"Config", "required"},
		{"schedule not cron or rate", agnostic, func(p *QueryRunnerProps) { p.Config = "schedules:\n  daily: every day\n" },
			"Config", `schedules.daily: "every day" is not an EventBridge schedule`},
		{"query in an undefined group", agnostic, func(p *QueryRunnerProps) {
			p.Config = "schedules:\n  daily: rate(1 day)\nqueries:\n  - name: q\n    schedule: weekly\n"
		}, "Config", `queries[0] (q): schedule "weekly" is not defined`},
		{"memory not valid for cpu", agnostic, func(p *QueryRunnerProps) { p.CPU, p.MemoryMiB = 256, 4096 },
			"MemoryMiB", "4096 is not a Fargate memory size for 256 CPU; use one of [512 1024 2048]"},
		{"memory off the step", agnostic, func(p *QueryRunnerProps) { p.CPU, p.MemoryMiB = 2048, 5000 },
			"MemoryMiB", "use 4096..16384 in steps of 1024"},
		{"cpu not a fargate value", agnostic, func(p *QueryRunnerProps) { p.CPU = 300 },
			"CPU", "300 is not a Fargate CPU value"},
		{"vpc id and create", placed, func(p *QueryRunnerProps) {
			p.VpcID, p.CreateVpc = "vpc-0123456789abcdef0", &VpcOptions{}
		}, "VpcID", "set at most one of Vpc, VpcID and CreateVpc"},
		{"vpc object and vpc id", placed, func(p *QueryRunnerProps) { p.Vpc, p.VpcID = otherVpc, "vpc-0123456789abcdef0" },
			"VpcID", "set at most one"},
		{"vpc id without env", agnostic, func(p *QueryRunnerProps) { p.VpcID = "vpc-0123456789abcdef0" },
			"VpcID", "needs the stack's account and region"},
		{"vpc id malformed", placed, func(p *QueryRunnerProps) { p.VpcID = "0123" },
			"VpcID", "is not a VPC id"},
		{"nat gateways above MaxAzs", agnostic, func(p *QueryRunnerProps) { p.CreateVpc = &VpcOptions{MaxAzs: 2, NatGateways: 3} },
			"CreateVpc.NatGateways", "between 1 and MaxAzs (2)"},
		{"two image sources", agnostic, func(p *QueryRunnerProps) { p.ImageDirectory = "." },
			"ImageDirectory", "not both"},
		{"no image", agnostic, func(p *QueryRunnerProps) { p.ImageRepository, p.ImageTag = "", "" },
			"ImageDirectory", "set ImageDirectory"},
		{"repository without tag", agnostic, func(p *QueryRunnerProps) { p.ImageTag = "" },
			"ImageTag", "required with ImageRepository"},
		{"retention not a logs period", agnostic, func(p *QueryRunnerProps) { p.LogRetentionDays = 45 },
			"LogRetentionDays", "45 is not a CloudWatch Logs retention period"},
		{"bare star action", agnostic, func(p *QueryRunnerProps) { p.ReadOnlyActions = []string{"*"} },
			"ReadOnlyActions", `"*" is not an IAM action`},
		{"service star action", agnostic, func(p *QueryRunnerProps) { p.ReadOnlyActions = []string{"ec2:*"} },
			"ReadOnlyActions", `"ec2:*" allows every action of the service`},
		{"role name differs from config", agnostic, func(p *QueryRunnerProps) {
			p.Config = validConfig + "organization:\n  role_name: FromConfig\n"
			p.QueryRoleName = "FromProps"
		}, "QueryRoleName", `"FromProps" differs from organization.role_name "FromConfig"`},
		{"secret also in environment", agnostic, func(p *QueryRunnerProps) {
			p.Environment = map[string]string{"DSN": "x"}
			p.Secrets = map[string]SecretRef{"DSN": {Secret: "db"}}
		}, "Secrets", "DSN is also set in Environment"},
		{"config variable overridden", agnostic, func(p *QueryRunnerProps) {
			p.Environment = map[string]string{"SPOUT_CONFIG_YAML": "x"}
		}, "Environment", "SPOUT_CONFIG_YAML is reserved"},
		{"secret without a secret", agnostic, func(p *QueryRunnerProps) { p.Secrets = map[string]SecretRef{"DSN": {Field: "dsn"}} },
			"Secrets", "DSN: Secret (a name or ARN) is required"},
		{"s3 bucket from an unset variable", agnostic, func(p *QueryRunnerProps) {
			p.Config = validConfig + "sinks:\n  lake:\n    type: s3\n    bucket: ${LAKE}\n"
		}, "Config", "sinks.lake.bucket: ${LAKE} must be set in Environment"},
		{"s3 sink without bucket", agnostic, func(p *QueryRunnerProps) {
			p.Config = validConfig + "sinks:\n  lake:\n    type: s3\n"
		}, "Config", "sinks.lake.bucket: an s3 sink needs a bucket"},
		{"stop timeout above Fargate's limit", agnostic, func(p *QueryRunnerProps) { p.StopTimeout = 121 * time.Second },
			"StopTimeout", "at most 2m0s (Fargate's limit)"},
		{"stop timeout leaves no grace", agnostic, func(p *QueryRunnerProps) { p.StopTimeout = 5 * time.Second },
			"StopTimeout", "more than 5s"},
		{"stop timeout not whole seconds", agnostic, func(p *QueryRunnerProps) { p.StopTimeout = 15500 * time.Millisecond },
			"StopTimeout", "whole seconds"},
		{"stop grace not shorter than the timeout", agnostic, func(p *QueryRunnerProps) {
			p.Environment = map[string]string{"SPOUT_STOP_GRACE": "30s"}
		}, "Environment", "shorter than StopTimeout (30s)"},
		{"stop grace not a duration", agnostic, func(p *QueryRunnerProps) {
			p.Environment = map[string]string{"SPOUT_STOP_GRACE": "25"}
		}, "Environment", "must be a Go duration"},
		{"metrics variable set by hand", agnostic, func(p *QueryRunnerProps) {
			p.Environment = map[string]string{"SPOUT_METRICS": "off"}
		}, "Environment", "SPOUT_METRICS is set from MetricsNamespace"},
		{"reserved metrics namespace", agnostic, func(p *QueryRunnerProps) { p.MetricsNamespace = "AWS/ECS" },
			"MetricsNamespace", "not a CloudWatch namespace"},
		{"cron period for an unknown group", agnostic, func(p *QueryRunnerProps) {
			p.CronPeriods = map[string]time.Duration{"dialy": time.Hour}
		}, "CronPeriods", "dialy is not a schedule group"},
		{"cron period for a rate group", agnostic, func(p *QueryRunnerProps) {
			p.Config = "schedules:\n  often: rate(5 minutes)\n"
			p.CronPeriods = map[string]time.Duration{"often": time.Hour}
		}, "CronPeriods", "whose period is its rate"},
		{"cron period under a minute", agnostic, func(p *QueryRunnerProps) {
			p.CronPeriods = map[string]time.Duration{"daily": time.Second}
		}, "CronPeriods", "shorter than EventBridge's smallest schedule"},
		{"negative shards", agnostic, func(p *QueryRunnerProps) { p.Shards = -1 },
			"Shards", "between 1 and 1000"},
		{"too many shards", agnostic, func(p *QueryRunnerProps) { p.Shards = 1001 },
			"Shards", "between 1 and 1000"},
		{"concurrency without shards", agnostic, func(p *QueryRunnerProps) { p.MaxConcurrency = 2 },
			"MaxConcurrency", "only used with Shards > 1"},
		{"concurrency above the inline map limit", agnostic, func(p *QueryRunnerProps) { p.Shards, p.MaxConcurrency = 100, 41 },
			"MaxConcurrency", "between 1 and 40"},
		{"concurrency above shards", agnostic, func(p *QueryRunnerProps) { p.Shards, p.MaxConcurrency = 3, 4 },
			"MaxConcurrency", "between 1 and 3"},
		{"shard variable set by hand", agnostic, func(p *QueryRunnerProps) {
			p.Shards = 2
			p.Environment = map[string]string{"SPOUT_SHARD": "1/2"}
		}, "Environment", "SPOUT_SHARD is set per task"},
		{"serve without peer", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{PasswordSecret: SecretRef{Secret: "pw"}}
		}, "Serve.Peer", "required"},
		{"serve without password", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{Peer: awsec2.Peer_Ipv4(jsii.String("10.0.0.0/8"))}
		}, "Serve.PasswordSecret", "required"},
		{"serve with a cert but no key", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{Peer: awsec2.Peer_Ipv4(jsii.String("10.0.0.0/8")), PasswordSecret: SecretRef{Secret: "pw"},
				TLSCertSecret: SecretRef{Secret: "tls"}}
		}, "Serve.TLSCertSecret", "together"},
		{"serve port out of range", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{Peer: awsec2.Peer_Ipv4(jsii.String("10.0.0.0/8")), PasswordSecret: SecretRef{Secret: "pw"}, Port: 70000}
		}, "Serve.Port", "70000 is not a TCP port"},
		{"serve size not a fargate pair", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{Peer: awsec2.Peer_Ipv4(jsii.String("10.0.0.0/8")), PasswordSecret: SecretRef{Secret: "pw"}, CPU: 512, MemoryMiB: 512}
		}, "Serve.MemoryMiB", "512 is not a Fargate memory size for 512 CPU"},
		{"serve password also in secrets", agnostic, func(p *QueryRunnerProps) {
			p.Serve = &ServeOptions{Peer: awsec2.Peer_Ipv4(jsii.String("10.0.0.0/8")), PasswordSecret: SecretRef{Secret: "pw"}}
			p.Secrets = map[string]SecretRef{"SPOUT_SERVE_PASSWORD": {Secret: "other"}}
		}, "Secrets", "SPOUT_SERVE_PASSWORD is set from Serve"},
		{"config not yaml", agnostic, func(p *QueryRunnerProps) { p.Config = "schedules: [" },
			"Config", "yaml"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := validProps()
			tt.change(&props)
			before := len(*tt.stack.Node().Children())
			_, err := NewQueryRunner(tt.stack, "Runner"+string(rune('A'+i)), &props)
			var pe *PropError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *PropError, got %v", err)
			}
			if pe.Prop != tt.prop || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %q (prop %s), want prop %s and a message containing %q", err, pe.Prop, tt.prop, tt.msg)
			}
			if after := len(*tt.stack.Node().Children()); after != before {
				t.Errorf("a refused runner left %d constructs behind", after-before)
			}
		})
	}
}

// TestRunnerIsAScope checks that QueryRunner.Construct can parent other constructs, so
// users can add their own resources beside the runner's.
func TestRunnerIsAScope(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Scope"), nil)
	props := validProps()
	r, err := NewQueryRunner(stack, "Runner", &props)
	if err != nil {
		t.Fatal(err)
	}
	child := awscdk.NewCfnOutput(r.Construct, jsii.String("Extra"), &awscdk.CfnOutputProps{Value: r.TaskRole.RoleArn()})
	if got := *child.Node().Path(); got != "Scope/Runner/Extra" {
		t.Errorf("child path %q", got)
	}
	if r.QueryRoleName != DefaultQueryRoleName {
		t.Errorf("QueryRoleName = %q, want the default", r.QueryRoleName)
	}
}

func TestNewMemberRoleRefusesBadProps(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Member"), nil)
	arn := jsii.String("arn:aws:iam::111111111111:role/runner")
	tests := []struct {
		props *MemberRoleProps
		prop  string
	}{
		{nil, "RunnerRoleArn"},
		{&MemberRoleProps{}, "RunnerRoleArn"},
		{&MemberRoleProps{RunnerRoleArn: arn, RoleName: "no spaces allowed"}, "RoleName"},
		{&MemberRoleProps{RunnerRoleArn: arn, ReadOnlyActions: []string{"iam:*"}}, "ReadOnlyActions"},
	}
	for i, tt := range tests {
		_, err := NewMemberRole(stack, "Role"+string(rune('A'+i)), tt.props)
		var pe *PropError
		if !errors.As(err, &pe) || pe.Prop != tt.prop {
			t.Errorf("%+v: got %v, want a PropError for %s", tt.props, err, tt.prop)
		}
	}
}

func TestValidateFargateSizes(t *testing.T) {
	// Every documented pair is accepted.
	for cpu, sizes := range fargateMemory {
		for _, mem := range sizes {
			if err := validateFargateSize(cpu, mem); err != nil {
				t.Errorf("%d/%d: %v", cpu, mem, err)
			}
		}
	}
	for _, tt := range []struct{ cpu, mem int }{
		{256, 256}, {256, 3072}, {512, 512}, {512, 5120}, {1024, 1024}, {1024, 9216},
		{4096, 31744}, {8192, 18432}, {16384, 36864}, {128, 512}, {32768, 65536},
	} {
		if err := validateFargateSize(tt.cpu, tt.mem); err == nil {
			t.Errorf("%d/%d accepted", tt.cpu, tt.mem)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	p := QueryRunnerProps{}.withDefaults()
	if p.CPU != 256 || p.MemoryMiB != 512 || p.LogRetentionDays != 30 {
		t.Errorf("size/retention defaults: %d/%d/%d", p.CPU, p.MemoryMiB, p.LogRetentionDays)
	}
	if p.CreateVpc == nil || p.CreateVpc.MaxAzs != 2 || p.CreateVpc.NatGateways != 1 {
		t.Errorf("VPC default: %+v", p.CreateVpc)
	}
	if p.StopTimeout != 30*time.Second || p.MetricsNamespace != "Spout" || p.Shards != 1 || p.MaxConcurrency != 0 || p.Serve != nil {
		t.Errorf("stop/metrics/shards/serve defaults: %v %q %d %d %v", p.StopTimeout, p.MetricsNamespace, p.Shards, p.MaxConcurrency, p.Serve)
	}
	for shards, want := range map[int]int{2: 2, 40: 40, 100: 40} {
		if got := (QueryRunnerProps{Shards: shards}).withDefaults().MaxConcurrency; got != want {
			t.Errorf("Shards %d: MaxConcurrency %d, want %d", shards, got, want)
		}
	}
	serve := &ServeOptions{Port: 5432}
	if q := (QueryRunnerProps{Serve: serve}).withDefaults().Serve; q.Port != 5432 || q.DesiredCount != 1 || q.CPU != 512 || q.MemoryMiB != 1024 || serve.CPU != 0 {
		t.Errorf("serve defaults: %+v (caller's %+v)", q, serve)
	}
	if q := (QueryRunnerProps{VpcID: "vpc-1"}).withDefaults(); q.CreateVpc != nil {
		t.Error("a VpcID still creates a VPC")
	}
	opts := &VpcOptions{MaxAzs: 3}
	if q := (QueryRunnerProps{CreateVpc: opts}).withDefaults(); q.CreateVpc.MaxAzs != 3 || q.CreateVpc.NatGateways != 1 || opts.NatGateways != 0 {
		t.Errorf("partial VPC options: %+v (caller's %+v)", q.CreateVpc, opts)
	}
}

func TestGoMemLimitLeavesRoomForTheSQLEngine(t *testing.T) {
	// values dereferences env, so that a failure shows the values.
	values := func(env map[string]*string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = *v
		}
		return out
	}
	for mib, want := range map[int]string{512: "358MiB", 1024: "716MiB", 3072: "2150MiB"} {
		env := values(containerEnv(QueryRunnerProps{MemoryMiB: mib, Environment: map[string]string{"SPOUT_LOG_LEVEL": "info"}}))
		if env["GOMEMLIMIT"] != want || len(env) != 2 {
			t.Errorf("%d MiB: environment %v, want GOMEMLIMIT=%s and SPOUT_LOG_LEVEL", mib, env, want)
		}
	}
	// The props' own setting wins, from Environment or from Secrets.
	env := values(containerEnv(QueryRunnerProps{MemoryMiB: 512, Environment: map[string]string{"GOMEMLIMIT": "200MiB"}}))
	if env["GOMEMLIMIT"] != "200MiB" {
		t.Errorf("Environment's GOMEMLIMIT replaced: %v", env)
	}
	env = values(containerEnv(QueryRunnerProps{MemoryMiB: 512, Secrets: map[string]SecretRef{"GOMEMLIMIT": {Secret: "s"}}}))
	if _, ok := env["GOMEMLIMIT"]; ok {
		t.Errorf("GOMEMLIMIT set in plain environment although Secrets sets it (ECS refuses both): %v", env)
	}
}
