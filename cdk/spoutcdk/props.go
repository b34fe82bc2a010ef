package spoutcdk

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// QueryRunnerProps configures a QueryRunner. Only Config and one image source are
// required; every other zero value picks the default written beside it.
type QueryRunnerProps struct {
	// Config is the text of spout.yaml. Required even with ConfigParameter: the schedule
	// groups, the s3 sinks and the organization role name are read from it at synth time.
	Config string
	// ConfigParameter is the name or ARN of an SSM parameter (String or SecureString)
	// holding spout.yaml. When set, the task receives SPOUT_CONFIG_YAML from it at start,
	// so the config can change without a deploy; Config must then match its schedules and
	// sinks. When empty, Config itself is set as SPOUT_CONFIG_YAML in the task definition.
	ConfigParameter string

	// ImageDirectory builds the runner image from the Dockerfile in this directory (a
	// checkout of the Spout repository) as a linux/arm64 asset.
	ImageDirectory string
	// ImageRepository is an existing ECR repository (name, or ARN for another account)
	// holding a linux/arm64 runner image; ImageTag picks the tag or "sha256:..." digest.
	// Set either ImageDirectory or ImageRepository + ImageTag.
	ImageRepository string
	ImageTag        string

	// CPU and MemoryMiB size each task; they must be a Fargate pair. Default 256 / 512.
	CPU       int
	MemoryMiB int
	// LogRetentionDays keeps the runner's logs (and so its manifests) this many days; it
	// must be a CloudWatch Logs retention period. Default 30.
	LogRetentionDays int

	// Network: at most one of Vpc, VpcID and CreateVpc. With none, a VPC is created with
	// the CreateVpc defaults. Tasks always run in private subnets with no public IP.
	//
	// Vpc is a VPC defined elsewhere in the app; it needs private subnets with egress.
	Vpc awsec2.IVpc
	// VpcID looks up an existing VPC; the stack needs an explicit account and region.
	VpcID string
	// CreateVpc creates a VPC for the runner.
	CreateVpc *VpcOptions

	// QueryRoleName is the role the runner assumes in each member account. Default:
	// organization.role_name from Config, else "SpoutQueryRole".
	QueryRoleName string
	// ReadOnlyActions replaces the ViewOnlyAccess managed policy with an inline policy
	// allowing just these actions, e.g. "ec2:Describe*". A bare "*" or "service:*" is
	// refused: the point of the list is to be narrower than ViewOnlyAccess.
	ReadOnlyActions []string

	// Environment is plain environment for the runner, e.g. SPOUT_LOG_LEVEL. It also
	// resolves ${VAR} in s3 sink buckets and prefixes at synth time. GOMEMLIMIT defaults
	// to 70% of MemoryMiB.
	Environment map[string]string
	// Secrets maps an environment variable name to a Secrets Manager secret; ECS injects
	// the value at task start, so it never appears in the template.
	Secrets map[string]SecretRef

	// AlarmEmail, when set, subscribes this address to the failure topic.
	AlarmEmail string

	// StopTimeout is how long ECS waits after SIGTERM before it sends SIGKILL, set as the
	// container's stopTimeout: whole seconds, more than 5s, at most 120s (Fargate's
	// limit). Default 30s. The container also gets SPOUT_STOP_GRACE, StopTimeout - 5s as a
	// Go duration ("25s"), the time the runner (and spout serve) has after SIGTERM to
	// abort its open results before the kill; Environment may set SPOUT_STOP_GRACE
	// itself, to a duration shorter than StopTimeout.
	StopTimeout time.Duration

	// Metrics: the runner's tasks get SPOUT_METRICS=emf and SPOUT_METRICS_NAMESPACE, and
	// write CloudWatch Embedded Metric Format lines to stdout, which awslogs ships and
	// CloudWatch turns into metrics with no agent. Per run, with dimension Schedule (the
	// group): RunSucceeded (Count, 1 when every query and delivery succeeded, else 0),
	// QueriesFailed (Count), RunDuration (Seconds); per query, with dimensions Schedule and
	// Query: Rows, QueryDuration (Seconds), QueryFailed (0/1), ConnectionErrors. Each
	// schedule group gets two alarms on AlarmTopic: QueriesFailed Sum > 0 in one schedule
	// period, and RunSucceeded Sum < 1 over two schedule periods, missing data breaching
	// (no run, or no successful run). A group's alarms look at its own Schedule only.
	//
	// DisableMetrics leaves out the metrics environment and the alarms.
	DisableMetrics bool
	// MetricsNamespace is the CloudWatch namespace the runner writes to. Default "Spout".
	MetricsNamespace string
	// CronPeriods gives the alarms the period of a cron(...) schedule group, e.g.
	// {"weekdays": 24 * time.Hour}; a rate(...) group's period is its rate. Default 1 day.
	// A CloudWatch alarm period is at most a day and its window at most 7 days, so a
	// group with a period over a day is watched in 1-day periods, and one over 3.5 days
	// alarms after one missed run instead of two (the synth warns).
	CronPeriods map[string]time.Duration

	// Serve, when set, also runs `spout serve` (the Postgres wire protocol over the same
	// config) as an ECS Fargate service behind an internal Network Load Balancer.
	Serve *ServeOptions

	// Shards splits each schedule group's run into this many tasks, each with
	// SPOUT_SHARD="<i>/<Shards>" (1-based, e.g. "2/4"): the runner picks its share of the
	// accounts from it. Default 1: one scheduled task per group, as without the prop.
	// With more, EventBridge starts a Step Functions state machine per group whose Map
	// state runs the group's task once per shard and waits for each; the execution fails
	// if any shard fails (after all have finished), and a failed, timed-out or aborted
	// execution is published to AlarmTopic. At most 1000.
	Shards int
	// MaxConcurrency is how many shards of a group run at once: 1 to 40 (an inline Map
	// state's limit) and at most Shards. Default min(Shards, 40). Only with Shards > 1.
	MaxConcurrency int
}

// ServeOptions configure `spout serve`. The service runs the image with its entrypoint
// replaced by `/spout serve --listen :<Port>`, with the runner's config (SPOUT_CONFIG_YAML
// from Config or ConfigParameter), Environment, Secrets, task role, StopTimeout and
// SPOUT_STOP_GRACE, in private subnets with no public IP. Its logs go to their own log
// group, kept LogRetentionDays.
type ServeOptions struct {
	// Peer is who may connect: the load balancer's security group admits Peer on Port
	// and nothing else, and the tasks admit only the load balancer. Required.
	Peer awsec2.IPeer
	// Port is the listener's and the container's TCP port. Default 9193.
	Port int
	// PasswordSecret is injected as the ECS secret SPOUT_SERVE_PASSWORD. Required.
	PasswordSecret SecretRef
	// TLSCertSecret and TLSKeySecret, both or neither, are injected as the ECS secrets
	// SPOUT_SERVE_TLS_CERT and SPOUT_SERVE_TLS_KEY (PEM text). Without them the server
	// speaks plain TCP (the load balancer passes TCP through; it does not terminate TLS).
	TLSCertSecret SecretRef
	TLSKeySecret  SecretRef
	// DesiredCount is how many tasks serve. Default 1.
	DesiredCount int
	// CPU and MemoryMiB size each serving task, a Fargate pair. Default 512 / 1024.
	CPU       int
	MemoryMiB int
}

// VpcOptions shape the VPC a QueryRunner creates: public subnets that hold only the NAT
// gateways, and private subnets for the task. NAT is needed because the runner calls AWS
// APIs in every configured region and account, and sinks on the internet; VPC endpoints
// cannot cover that set.
type VpcOptions struct {
	// MaxAzs is how many availability zones get a subnet pair. Default 2.
	MaxAzs int
	// NatGateways is how many NAT gateways to run, at least 1 and at most MaxAzs.
	// Default 1: a scheduled batch job can retry on its next run if the AZ is down.
	NatGateways int
}

// SecretRef names a Secrets Manager secret and, optionally, one field of its JSON value.
type SecretRef struct {
	// Secret is the secret's name or complete ARN (with its random suffix).
	Secret string
	// Field picks one key of a JSON secret; empty injects the whole value.
	Field string
}

// PropError reports a property that cannot be deployed. Prop names the field of the props
// struct; Msg says what is wrong and what would be right.
type PropError struct {
	Prop string
	Msg  string
}

func (e *PropError) Error() string { return "spoutcdk: " + e.Prop + ": " + e.Msg }

func propErrorf(prop, format string, args ...any) error {
	return &PropError{Prop: prop, Msg: fmt.Sprintf(format, args...)}
}

const (
	// DefaultQueryRoleName is the member-account role when neither props nor the config
	// name one.
	DefaultQueryRoleName = "SpoutQueryRole"

	configEnv = "SPOUT_CONFIG_YAML"

	stopGraceEnv        = "SPOUT_STOP_GRACE"
	metricsEnv          = "SPOUT_METRICS"
	metricsNamespaceEnv = "SPOUT_METRICS_NAMESPACE"
	shardEnv            = "SPOUT_SHARD"
	servePasswordEnv    = "SPOUT_SERVE_PASSWORD"
	serveTLSCertEnv     = "SPOUT_SERVE_TLS_CERT"
	serveTLSKeyEnv      = "SPOUT_SERVE_TLS_KEY"

	// stopGraceMargin is what SPOUT_STOP_GRACE leaves of StopTimeout for the process to
	// exit and awslogs to flush the last lines.
	stopGraceMargin = 5 * time.Second
	// maxStopTimeout is Fargate's limit on a container's stopTimeout.
	maxStopTimeout = 120 * time.Second
	// maxShards keeps a group's execution well inside Step Functions' 25,000 history
	// events (about ten per shard) and States.ArrayRange's 1000 items.
	maxShards = 1000
	// maxInlineMapConcurrency is how many iterations an inline Map state runs at once.
	maxInlineMapConcurrency = 40
)

var (
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// CloudWatch namespaces: printable names without a leading colon; "AWS/" is reserved.
	namespacePattern = regexp.MustCompile(`^[A-Za-z0-9._/#\- ][A-Za-z0-9._/#:\- ]{0,254}$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	actionPattern    = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
)

// retentionDays maps the retention periods CloudWatch Logs accepts to the CDK's names.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

// withDefaults returns a copy of p with zero values replaced by their defaults.
func (p QueryRunnerProps) withDefaults() QueryRunnerProps {
	if p.CPU == 0 {
		p.CPU = 256
	}
	if p.MemoryMiB == 0 {
		p.MemoryMiB = 512
	}
	if p.LogRetentionDays == 0 {
		p.LogRetentionDays = 30
	}
	if p.Vpc == nil && p.VpcID == "" && p.CreateVpc == nil {
		p.CreateVpc = &VpcOptions{}
	}
	if p.StopTimeout == 0 {
		p.StopTimeout = 30 * time.Second
	}
	if p.MetricsNamespace == "" {
		p.MetricsNamespace = "Spout"
	}
	if p.Shards == 0 {
		p.Shards = 1
	}
	if p.MaxConcurrency == 0 && p.Shards > 1 {
		p.MaxConcurrency = min(p.Shards, maxInlineMapConcurrency)
	}
	if p.Serve != nil {
		opts := *p.Serve
		if opts.Port == 0 {
			opts.Port = 9193
		}
		if opts.DesiredCount == 0 {
			opts.DesiredCount = 1
		}
		if opts.CPU == 0 {
			opts.CPU = 512
		}
		if opts.MemoryMiB == 0 {
			opts.MemoryMiB = 1024
		}
		p.Serve = &opts
	}
	if p.CreateVpc != nil {
		opts := *p.CreateVpc
		if opts.MaxAzs == 0 {
			opts.MaxAzs = 2
		}
		if opts.NatGateways == 0 {
			opts.NatGateways = 1
		}
		p.CreateVpc = &opts
	}
	return p
}

// validate checks the props (after withDefaults) without touching jsii, so a bad prop
// fails before any construct is created.
func (p QueryRunnerProps) validate() error {
	if strings.TrimSpace(p.Config) == "" {
		return propErrorf("Config", "required: the spout.yaml text (its schedules and sinks shape the deployment)")
	}

	switch {
	case p.ImageDirectory != "" && p.ImageRepository != "":
		return propErrorf("ImageDirectory", "set either ImageDirectory or ImageRepository, not both")
	case p.ImageDirectory == "" && p.ImageRepository == "":
		return propErrorf("ImageDirectory", "set ImageDirectory (build from a Dockerfile) or ImageRepository + ImageTag (an existing image)")
	case p.ImageRepository != "" && p.ImageTag == "":
		return propErrorf("ImageTag", "required with ImageRepository")
	case p.ImageDirectory != "" && p.ImageTag != "":
		return propErrorf("ImageTag", "only used with ImageRepository; an ImageDirectory asset is tagged by its content hash")
	}

	if err := validateFargateSizeOf("", p.CPU, p.MemoryMiB); err != nil {
		return err
	}
	if _, ok := retentionDays[p.LogRetentionDays]; !ok {
		return propErrorf("LogRetentionDays", "%d is not a CloudWatch Logs retention period; use one of %v", p.LogRetentionDays, slices.Sorted(maps.Keys(retentionDays)))
	}

	set := 0
	for _, ok := range []bool{p.Vpc != nil, p.VpcID != "", p.CreateVpc != nil} {
		if ok {
			set++
		}
	}
	if set > 1 {
		return propErrorf("VpcID", "set at most one of Vpc, VpcID and CreateVpc: use an existing VPC or create one, not both")
	}
	if p.VpcID != "" && !strings.HasPrefix(p.VpcID, "vpc-") {
		return propErrorf("VpcID", "%q is not a VPC id (vpc-...)", p.VpcID)
	}
	if o := p.CreateVpc; o != nil {
		if o.MaxAzs < 1 {
			return propErrorf("CreateVpc.MaxAzs", "must be at least 1, got %d", o.MaxAzs)
		}
		if o.NatGateways < 1 || o.NatGateways > o.MaxAzs {
			return propErrorf("CreateVpc.NatGateways", "must be between 1 and MaxAzs (%d), got %d: the task reaches AWS APIs and sinks through NAT", o.MaxAzs, o.NatGateways)
		}
	}

	if p.QueryRoleName != "" && !roleNamePattern.MatchString(p.QueryRoleName) {
		return propErrorf("QueryRoleName", "%q is not an IAM role name", p.QueryRoleName)
	}
	if err := validateActions("ReadOnlyActions", p.ReadOnlyActions); err != nil {
		return err
	}

	for _, name := range slices.Sorted(maps.Keys(p.Environment)) {
		if err := validateEnvName("Environment", name); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Secrets)) {
		if err := validateEnvName("Secrets", name); err != nil {
			return err
		}
		if _, ok := p.Environment[name]; ok {
			return propErrorf("Secrets", "%s is also set in Environment; ECS refuses a name in both", name)
		}
		if strings.TrimSpace(p.Secrets[name].Secret) == "" {
			return propErrorf("Secrets", "%s: Secret (a name or ARN) is required", name)
		}
	}
	if p.AlarmEmail != "" && !strings.Contains(p.AlarmEmail, "@") {
		return propErrorf("AlarmEmail", "%q is not an email address", p.AlarmEmail)
	}
	if err := p.validateStop(); err != nil {
		return err
	}
	if err := p.validateMetrics(); err != nil {
		return err
	}
	if err := p.validateShards(); err != nil {
		return err
	}
	return p.validateServe()
}

func (p QueryRunnerProps) validateStop() error {
	if p.StopTimeout%time.Second != 0 || p.StopTimeout <= stopGraceMargin || p.StopTimeout > maxStopTimeout {
		return propErrorf("StopTimeout", "%v must be whole seconds, more than %v (SPOUT_STOP_GRACE is StopTimeout - %v) and at most %v (Fargate's limit)",
			p.StopTimeout, stopGraceMargin, stopGraceMargin, maxStopTimeout)
	}
	if v, ok := p.Environment[stopGraceEnv]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d >= p.StopTimeout {
			return propErrorf("Environment", "%s=%q must be a Go duration (e.g. \"25s\") shorter than StopTimeout (%v): ECS kills the container at StopTimeout", stopGraceEnv, v, p.StopTimeout)
		}
	}
	return nil
}

func (p QueryRunnerProps) validateMetrics() error {
	if p.DisableMetrics {
		return nil
	}
	if !namespacePattern.MatchString(p.MetricsNamespace) || strings.HasPrefix(p.MetricsNamespace, "AWS/") {
		return propErrorf("MetricsNamespace", "%q is not a CloudWatch namespace for your own metrics (at most 255 letters, digits, spaces and ._-/#:, not starting with ':' or \"AWS/\")", p.MetricsNamespace)
	}
	for _, name := range []string{metricsEnv, metricsNamespaceEnv} {
		if p.setsEnv(name) {
			return propErrorf("Environment", "%s is set from MetricsNamespace and DisableMetrics; set DisableMetrics to manage it yourself", name)
		}
	}
	for _, group := range slices.Sorted(maps.Keys(p.CronPeriods)) {
		if d := p.CronPeriods[group]; d < time.Minute {
			return propErrorf("CronPeriods", "%s: %v is shorter than EventBridge's smallest schedule, 1 minute", group, d)
		}
	}
	return nil
}

func (p QueryRunnerProps) validateShards() error {
	if p.Shards < 1 || p.Shards > maxShards {
		return propErrorf("Shards", "%d must be between 1 and %d", p.Shards, maxShards)
	}
	if p.Shards == 1 {
		if p.MaxConcurrency != 0 {
			return propErrorf("MaxConcurrency", "only used with Shards > 1")
		}
		return nil
	}
	if p.MaxConcurrency < 1 || p.MaxConcurrency > min(p.Shards, maxInlineMapConcurrency) {
		return propErrorf("MaxConcurrency", "%d must be between 1 and %d (Shards, and at most %d: an inline Map state runs no more at once)",
			p.MaxConcurrency, min(p.Shards, maxInlineMapConcurrency), maxInlineMapConcurrency)
	}
	if p.setsEnv(shardEnv) {
		return propErrorf("Environment", "%s is set per task from Shards", shardEnv)
	}
	return nil
}

func (p QueryRunnerProps) validateServe() error {
	s := p.Serve
	if s == nil {
		return nil
	}
	if s.Peer == nil {
		return propErrorf("Serve.Peer", "required: who may connect (e.g. awsec2.Peer_Ipv4(\"10.0.0.0/16\")); the load balancer admits nobody else")
	}
	if s.Port < 1 || s.Port > 65535 {
		return propErrorf("Serve.Port", "%d is not a TCP port", s.Port)
	}
	if strings.TrimSpace(s.PasswordSecret.Secret) == "" {
		return propErrorf("Serve.PasswordSecret", "required: the Secrets Manager secret (name or ARN) with the password clients log in with")
	}
	if (s.TLSCertSecret.Secret == "") != (s.TLSKeySecret.Secret == "") {
		return propErrorf("Serve.TLSCertSecret", "set TLSCertSecret and TLSKeySecret together: the server needs both the certificate and its key")
	}
	if s.DesiredCount < 1 {
		return propErrorf("Serve.DesiredCount", "must be at least 1, got %d", s.DesiredCount)
	}
	if err := validateFargateSizeOf("Serve.", s.CPU, s.MemoryMiB); err != nil {
		return err
	}
	for _, name := range []string{servePasswordEnv, serveTLSCertEnv, serveTLSKeyEnv} {
		if p.setsEnv(name) {
			return propErrorf("Secrets", "%s is set from Serve; ECS refuses a name twice", name)
		}
	}
	return nil
}

// setsEnv reports whether Environment or Secrets sets the variable name.
func (p QueryRunnerProps) setsEnv(name string) bool {
	_, inEnv := p.Environment[name]
	_, inSecrets := p.Secrets[name]
	return inEnv || inSecrets
}

func validateEnvName(prop, name string) error {
	if !envNamePattern.MatchString(name) {
		return propErrorf(prop, "%q is not an environment variable name", name)
	}
	if name == configEnv {
		return propErrorf(prop, "%s is reserved: the config arrives there from Config or ConfigParameter", configEnv)
	}
	return nil
}

func validateActions(prop string, actions []string) error {
	for _, a := range actions {
		if !actionPattern.MatchString(a) {
			return propErrorf(prop, "%q is not an IAM action (service:Action)", a)
		}
		if strings.HasSuffix(a, ":*") {
			return propErrorf(prop, "%q allows every action of the service; list the read actions (e.g. %sDescribe*)", a, strings.TrimSuffix(a, "*"))
		}
	}
	return nil
}

// fargateMemory lists, per CPU value, the memory sizes (MiB) Fargate accepts.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, by int) []int {
	var s []int
	for v := from; v <= to; v += by {
		s = append(s, v)
	}
	return s
}

func validateFargateSize(cpu, memory int) error { return validateFargateSizeOf("", cpu, memory) }

// validateFargateSizeOf names the props prefix+"CPU" and prefix+"MemoryMiB" in its errors.
func validateFargateSizeOf(prefix string, cpu, memory int) error {
	sizes, ok := fargateMemory[cpu]
	if !ok {
		return propErrorf(prefix+"CPU", "%d is not a Fargate CPU value; use one of %v", cpu, slices.Sorted(maps.Keys(fargateMemory)))
	}
	if slices.Contains(sizes, memory) {
		return nil
	}
	if len(sizes) <= 8 {
		return propErrorf(prefix+"MemoryMiB", "%d is not a Fargate memory size for %d CPU; use one of %v", memory, cpu, sizes)
	}
	return propErrorf(prefix+"MemoryMiB", "%d is not a Fargate memory size for %d CPU; use %d..%d in steps of %d",
		memory, cpu, sizes[0], sizes[len(sizes)-1], sizes[1]-sizes[0])
}
