// Package spoutcdk deploys the Spout runner: one ARM64 Fargate task per schedule group of
// a spout.yaml, run by EventBridge in private subnets, with a least-privilege task role
// and an SNS alert when a run fails. Import it into your own CDK app, or use the app in
// the parent directory.
package spoutcdk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecspatterns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ContainerName is the name of the runner's container in every task definition.
const ContainerName = "spout"

// QueryRunner is the deployed runner. Its fields are the resources other constructs may
// want to reference, e.g. TaskRole for a bucket policy or AlarmTopic for more subscribers.
type QueryRunner struct {
	// Construct holds every resource below; use it as the scope for resources you add
	// beside them. (It is a named field, not embedded: jsii cannot pass a Go struct that
	// embeds a construct as a scope.)
	Construct constructs.Construct

	Vpc           awsec2.IVpc
	Cluster       awsecs.Cluster
	SecurityGroup awsec2.SecurityGroup
	LogGroup      awslogs.LogGroup
	// TaskRole is what the runner's code runs as; member accounts trust it.
	TaskRole awsiam.Role
	// ExecutionRole is what ECS uses to pull the image, write logs and read secrets.
	ExecutionRole awsiam.Role
	// Tasks holds one scheduled task per schedule group, keyed by group (Shards = 1).
	Tasks map[string]awsecspatterns.ScheduledFargateTask
	// StateMachines holds each group's sharded run, keyed by group (Shards > 1), and
	// ShardedRunFailedRule publishes their failed executions to AlarmTopic.
	StateMachines        map[string]awsstepfunctions.StateMachine
	ShardedRunFailedRule awsevents.Rule
	// QueryRoleName is the role the runner assumes in member accounts.
	QueryRoleName string
	AlarmTopic    awssns.Topic
	FailureRule   awsevents.Rule
	// Alarms holds each group's metric alarms, keyed by group; empty with DisableMetrics.
	Alarms map[string]ScheduleAlarms

	// Service, LoadBalancer, ServeSecurityGroup (the tasks') and ServeLogGroup are
	// `spout serve`; nil without Serve.
	Service            awsecs.FargateService
	LoadBalancer       awselasticloadbalancingv2.NetworkLoadBalancer
	ServeSecurityGroup awsec2.SecurityGroup
	ServeLogGroup      awslogs.LogGroup
}

// NewQueryRunner defines the runner under scope. Props are checked before anything is
// created; a *PropError names the property at fault.
func NewQueryRunner(scope constructs.Construct, id string, props *QueryRunnerProps) (*QueryRunner, error) {
	if props == nil {
		return nil, propErrorf("Config", "props are required")
	}
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	d, err := parseConfig(p.Config, p.Environment, p.Secrets)
	if err != nil {
		return nil, err
	}
	roleName, err := queryRoleName(p.QueryRoleName, d.queryRoleName)
	if err != nil {
		return nil, err
	}
	periods := map[string]time.Duration{}
	if !p.DisableMetrics {
		if err := checkCronPeriods(p.CronPeriods, d.schedules); err != nil {
			return nil, err
		}
		for _, s := range d.schedules {
			if periods[s.group], err = schedulePeriod(s, p.CronPeriods); err != nil {
				return nil, err
			}
		}
	}
	if p.VpcID != "" {
		// Vpc.fromLookup needs a concrete environment; without one the CDK fails with a
		// message that does not mention the prop.
		stack := awscdk.Stack_Of(scope)
		if *awscdk.Token_IsUnresolved(stack.Account()) || *awscdk.Token_IsUnresolved(stack.Region()) {
			return nil, propErrorf("VpcID", "looking up %s needs the stack's account and region; set them in the stack's env", p.VpcID)
		}
	}

	c := constructs.NewConstruct(scope, jsii.String(id))
	r := &QueryRunner{
		Construct:     c,
		QueryRoleName: roleName,
		Tasks:         map[string]awsecspatterns.ScheduledFargateTask{},
		StateMachines: map[string]awsstepfunctions.StateMachine{},
		Alarms:        map[string]ScheduleAlarms{},
	}
	for _, w := range d.warnings {
		awscdk.Annotations_Of(c).AddWarningV2(jsii.String("spout:config"), jsii.String(w))
	}

	r.Vpc = newVpc(c, p)
	r.Cluster = awsecs.NewCluster(c, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 r.Vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	r.SecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:         r.Vpc,
		Description: jsii.String("Spout runner tasks: no inbound; outbound to AWS APIs and sinks"),
		// The runner calls AWS APIs in any region and sinks on any host and port (a
		// Postgres DSN picks its own), so outbound cannot be narrowed here.
		AllowAllOutbound: jsii.Bool(true),
	})
	r.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: retentionDays[p.LogRetentionDays],
		// The logs hold the run manifests, the record of what each run delivered; they
		// outlive the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	r.TaskRole = newTaskRole(c, p, d, roleName)
	r.ExecutionRole = awsiam.NewRole(c, jsii.String("ExecutionRole"), &awsiam.RoleProps{
		// No source conditions here: ECS documents them for task roles only.
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil),
		Description: jsii.String("Spout runner: ECS pulls the image, writes logs and reads the task's secrets"),
	})

	image := containerImage(c, p)
	secrets := containerSecrets(c, p.Secrets)
	var config awsecs.Secret
	if p.ConfigParameter != "" {
		config = awsecs.Secret_FromSsmParameter(configParameter(c, p.ConfigParameter))
		secrets[configEnv] = config
	}
	// withConfig completes a container's environment with the config when it is embedded.
	withConfig := func(env map[string]*string) map[string]*string {
		if config == nil {
			env[configEnv] = jsii.String(p.Config)
		}
		return env
	}

	r.AlarmTopic, r.FailureRule = newFailureAlert(c, r.Cluster, p.AlarmEmail)

	env := withConfig(containerEnv(p))
	if !p.DisableMetrics {
		maps.Copy(env, metricsEnvironment(p.MetricsNamespace))
	}
	var shardLogs awslogs.LogGroup
	if p.Shards > 1 {
		shardLogs = newStateMachineLogs(c, p)
	}
	for _, s := range d.schedules {
		if p.Shards == 1 {
			r.Tasks[s.group] = newScheduledTask(c, r, p, s, image, env, secrets)
		} else {
			taskDef, container := newTaskDefinition(c, r, p, s, image, env, secrets)
			r.StateMachines[s.group] = newShardedRun(c, r, p, s, taskDef, container, shardLogs)
			suppressTaskDefinitionFindings(taskDef, len(env) > 0)
			if _, embedded := env[configEnv]; embedded {
				acknowledgeConfigTemplating(taskDef, p.Config)
			}
		}
		if !p.DisableMetrics {
			r.Alarms[s.group] = newScheduleAlarms(c, r.AlarmTopic, p.MetricsNamespace, s, periods[s.group])
		}
	}
	if len(r.StateMachines) > 0 {
		var machines []awsstepfunctions.StateMachine
		for _, group := range slices.Sorted(maps.Keys(r.StateMachines)) {
			machines = append(machines, r.StateMachines[group])
		}
		r.ShardedRunFailedRule = newExecutionFailureRule(c, machines, r.AlarmTopic)
	}
	if !p.DisableMetrics {
		allowAlarmPublishing(r.AlarmTopic)
	}

	if p.Serve != nil {
		serveEnv := withConfig(baseEnv(p, p.Serve.MemoryMiB))
		newServe(c, r, p, image, serveEnv, serveSecrets(c, p.Serve, secrets))
		if _, embedded := serveEnv[configEnv]; embedded {
			acknowledgeConfigTemplating(r.Service.TaskDefinition(), p.Config)
		}
	}

	suppressTaskRoleFindings(r, p, d)
	suppressExecutionRoleFindings(r)
	return r, nil
}

// queryRoleName picks the member-account role: the props and the config must not
// disagree, because the runner assumes the config's name and the grant uses the props'.
func queryRoleName(fromProps, fromConfig string) (string, error) {
	switch {
	case fromProps != "" && fromConfig != "" && fromProps != fromConfig:
		return "", propErrorf("QueryRoleName", "%q differs from organization.role_name %q in Config; the runner assumes the config's name", fromProps, fromConfig)
	case fromConfig != "":
		if !roleNamePattern.MatchString(fromConfig) {
			return "", propErrorf("Config", "organization.role_name %q is not an IAM role name", fromConfig)
		}
		return fromConfig, nil
	case fromProps != "":
		return fromProps, nil
	}
	return DefaultQueryRoleName, nil
}

func newVpc(c constructs.Construct, p QueryRunnerProps) awsec2.IVpc {
	switch {
	case p.Vpc != nil:
		return p.Vpc
	case p.VpcID != "":
		return awsec2.Vpc_FromLookup(c, jsii.String("Vpc"), &awsec2.VpcLookupOptions{VpcId: jsii.String(p.VpcID)})
	}
	flowLogs := awslogs.NewLogGroup(c, jsii.String("VpcFlowLogs"), &awslogs.LogGroupProps{
		Retention: retentionDays[p.LogRetentionDays],
	})
	return awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(p.CreateVpc.MaxAzs),
		NatGateways: jsii.Number(p.CreateVpc.NatGateways),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("nat"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(26)},
			{Name: jsii.String("tasks"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(22)},
		},
		// Nothing uses the default security group. Emptying it takes a custom-resource
		// Lambda, which is more surface than the rules it would remove.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		// Flow logs answer "what did the runner talk to", the first question a security
		// review of an inventory job asks.
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"all": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_ALL,
			},
		},
	})
}

// taskRolePrincipal lets ECS tasks of this account and region assume the task role. The
// conditions stop another account's ECS from using the role (confused deputy).
func taskRolePrincipal() awsiam.IPrincipal {
	return awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), &awsiam.ServicePrincipalOpts{
		Conditions: &map[string]any{
			"ArnLike": map[string]any{
				"aws:SourceArn": fmt.Sprintf("arn:%s:ecs:%s:%s:*", *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID()),
			},
			"StringEquals": map[string]any{"aws:SourceAccount": *awscdk.Aws_ACCOUNT_ID()},
		},
	})
}

// newTaskRole builds the role the runner's code runs as. Every statement is listed here
// so a reviewer can read the whole grant in one place.
func newTaskRole(c constructs.Construct, p QueryRunnerProps, d *deployment, roleName string) awsiam.Role {
	statements := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AssumeQueryRole"),
			Actions:   jsii.Strings("sts:AssumeRole"),
			Resources: jsii.Strings(queryRoleArnPattern(roleName)),
		}),
	}
	if d.discovery {
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("ListOrganizationAccounts"),
			Actions: jsii.Strings("organizations:ListAccounts"),
			// ListAccounts has no resource-level permissions.
			Resources: jsii.Strings("*"),
		}))
	}
	if len(d.s3Objects) > 0 {
		var objects []string
		for _, o := range d.s3Objects {
			objects = append(objects, fmt.Sprintf("arn:%s:s3:::%s*", *awscdk.Aws_PARTITION(), o))
		}
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("WriteS3Sinks"),
			// A result is one multipart upload; Abort is how a failed result leaves
			// nothing half-written.
			Actions:   jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload"),
			Resources: jsii.Strings(objects...),
		}))
	}
	if d.stateBucket != "" {
		statements = append(statements,
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ReadWriteDiffState"),
				// One object per diffed query, read at the start and replaced after delivery.
				Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
				Resources: jsii.Strings(fmt.Sprintf("arn:%s:s3:::%s/%s*", *awscdk.Aws_PARTITION(), d.stateBucket, d.statePrefix)),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ListDiffState"),
				// Without ListBucket, S3 answers a snapshot not yet saved with 403 instead of
				// 404, and every run would be a first run that cannot tell.
				Actions:    jsii.Strings("s3:ListBucket"),
				Resources:  jsii.Strings(fmt.Sprintf("arn:%s:s3:::%s", *awscdk.Aws_PARTITION(), d.stateBucket)),
				Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": d.statePrefix + "*"}},
			}))
	}

	var managed []awsiam.IManagedPolicy
	if len(p.ReadOnlyActions) > 0 {
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadInventory"),
			Actions:   jsii.Strings(p.ReadOnlyActions...),
			Resources: jsii.Strings("*"),
		}))
	} else {
		managed = append(managed, awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String(viewOnlyAccess)))
	}

	return awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		AssumedBy:       taskRolePrincipal(),
		Description:     jsii.String("Spout runner: reads inventory, assumes " + roleName + " in member accounts, writes to sinks"),
		ManagedPolicies: &managed,
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"spout": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements}),
		},
	})
}

const viewOnlyAccess = "job-function/ViewOnlyAccess"

// queryRoleArnPattern matches roleName in any account; the account set is the
// organization's, decided by the member roles' trust policies, not by this grant.
func queryRoleArnPattern(roleName string) string {
	return fmt.Sprintf("arn:%s:iam::*:role/%s", *awscdk.Aws_PARTITION(), roleName)
}

// assetExcludes keep the image asset to the runner's sources: VCS data, this CDK module
// (its own go.mod, not part of the runner's build), its node_modules and synth output.
var assetExcludes = []string{".git", "cdk", "**/node_modules", "**/cdk.out", "*.test", "*.prof", "bin"}

func containerImage(c constructs.Construct, p QueryRunnerProps) awsecs.ContainerImage {
	if p.ImageDirectory != "" {
		asset := awsecrassets.NewDockerImageAsset(c, jsii.String("Image"), &awsecrassets.DockerImageAssetProps{
			Directory: jsii.String(p.ImageDirectory),
			Platform:  awsecrassets.Platform_LINUX_ARM64(),
			Exclude:   jsii.Strings(assetExcludes...),
		})
		return awsecs.ContainerImage_FromDockerImageAsset(asset)
	}
	var repo awsecr.IRepository
	if strings.HasPrefix(p.ImageRepository, "arn:") {
		repo = awsecr.Repository_FromRepositoryArn(c, jsii.String("ImageRepository"), jsii.String(p.ImageRepository))
	} else {
		repo = awsecr.Repository_FromRepositoryName(c, jsii.String("ImageRepository"), jsii.String(p.ImageRepository))
	}
	return awsecs.ContainerImage_FromEcrRepository(repo, jsii.String(p.ImageTag))
}

func containerSecrets(c constructs.Construct, refs map[string]SecretRef) map[string]awsecs.Secret {
	secrets := map[string]awsecs.Secret{}
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		ref := refs[name]
		id := jsii.String("Secret" + name)
		var secret awssecretsmanager.ISecret
		if strings.HasPrefix(ref.Secret, "arn:") {
			secret = awssecretsmanager.Secret_FromSecretCompleteArn(c, id, jsii.String(ref.Secret))
		} else {
			secret = awssecretsmanager.Secret_FromSecretNameV2(c, id, jsii.String(ref.Secret))
		}
		var field *string
		if ref.Field != "" {
			field = jsii.String(ref.Field)
		}
		secrets[name] = awsecs.Secret_FromSecretsManager(secret, field)
	}
	return secrets
}

func configParameter(c constructs.Construct, nameOrArn string) awsssm.IParameter {
	id := jsii.String("ConfigParameter")
	if strings.HasPrefix(nameOrArn, "arn:") {
		return awsssm.StringParameter_FromStringParameterArn(c, id, jsii.String(nameOrArn))
	}
	// SecureString attributes also fit a plain String parameter: ECS resolves either, and
	// the grant is the same ssm:GetParameters on the parameter.
	return awsssm.StringParameter_FromSecureStringParameterAttributes(c, id, &awsssm.SecureStringParameterAttributes{
		ParameterName: jsii.String(nameOrArn),
	})
}

// newTaskDefinition defines the task that runs one schedule group.
func newTaskDefinition(c constructs.Construct, r *QueryRunner, p QueryRunnerProps, s schedule,
	image awsecs.ContainerImage, env map[string]*string, secrets map[string]awsecs.Secret) (awsecs.FargateTaskDefinition, awsecs.ContainerDefinition) {
	taskDef := awsecs.NewFargateTaskDefinition(c, jsii.String("TaskDef-"+s.group), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(p.CPU),
		MemoryLimitMiB: jsii.Number(p.MemoryMiB),
		RuntimePlatform: &awsecs.RuntimePlatform{
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
		},
		TaskRole:      r.TaskRole,
		ExecutionRole: r.ExecutionRole,
	})
	container := taskDef.AddContainer(jsii.String(ContainerName), &awsecs.ContainerDefinitionOptions{
		Image: image,
		// The image's ENTRYPOINT is ["/spout", "run"].
		Command:     jsii.Strings("--schedule", s.group),
		Environment: &env,
		Secrets:     &secrets,
		StopTimeout: awscdk.Duration_Seconds(jsii.Number(p.StopTimeout.Seconds())),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     r.LogGroup,
			StreamPrefix: jsii.String(s.group),
			// The manifest is the last line a run writes; blocking mode makes the task
			// wait for CloudWatch rather than drop it.
			Mode: awsecs.AwsLogDriverMode_BLOCKING,
		}),
	})
	return taskDef, container
}

func newScheduledTask(c constructs.Construct, r *QueryRunner, p QueryRunnerProps, s schedule,
	image awsecs.ContainerImage, env map[string]*string, secrets map[string]awsecs.Secret) awsecspatterns.ScheduledFargateTask {
	taskDef, _ := newTaskDefinition(c, r, p, s, image, env, secrets)
	task := awsecspatterns.NewScheduledFargateTask(c, jsii.String("Schedule-"+s.group), &awsecspatterns.ScheduledFargateTaskProps{
		Cluster:  r.Cluster,
		Schedule: awsapplicationautoscaling.Schedule_Expression(jsii.String(s.expression)),
		ScheduledFargateTaskDefinitionOptions: &awsecspatterns.ScheduledFargateTaskDefinitionOptions{
			TaskDefinition: taskDef,
		},
		// Private subnets make the EventBridge target set AssignPublicIp DISABLED.
		SubnetSelection: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		SecurityGroups:  &[]awsec2.ISecurityGroup{r.SecurityGroup},
		PropagateTags:   awsecs.PropagatedTagSource_TASK_DEFINITION,
	})
	// After the task: its EventBridge target adds the events role under taskDef, and
	// suppressions reach only the children that exist when they are added.
	suppressTaskDefinitionFindings(taskDef, len(env) > 0)
	if _, embedded := env[configEnv]; embedded {
		acknowledgeConfigTemplating(taskDef, p.Config)
	}
	return task
}

// newFailureAlert sends every runner task that stops with a non-zero exit code, or never
// starts (image pull, secret or network failure), to an SNS topic.
func newFailureAlert(c constructs.Construct, cluster awsecs.Cluster, email string) (awssns.Topic, awsevents.Rule) {
	topic := awssns.NewTopic(c, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Spout runner failures"),
		EnforceSSL:  jsii.Bool(true),
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	rule := awsevents.NewRule(c, jsii.String("TaskFailedRule"), &awsevents.RuleProps{
		Description: jsii.String("A Spout runner task stopped with a non-zero exit code or failed to start"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ecs"),
			DetailType: jsii.Strings("ECS Task State Change"),
			Detail: &map[string]any{
				"clusterArn": []any{cluster.ClusterArn()},
				"lastStatus": []any{"STOPPED"},
				"$or": []any{
					// containers is a list: this matches when any container's code is not 0.
					map[string]any{"containers": map[string]any{"exitCode": []any{map[string]any{"anything-but": 0}}}},
					// A task that never started has no exit code.
					map[string]any{"stopCode": []any{"TaskFailedToStart"}},
				},
			},
		},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(topic, nil))
	return topic, rule
}

// containerEnv is the runner container's plain environment apart from the config and
// metrics: the Environment prop, GOMEMLIMIT and SPOUT_STOP_GRACE unless the props set them.
func containerEnv(p QueryRunnerProps) map[string]*string { return baseEnv(p, p.MemoryMiB) }

// baseEnv is containerEnv for a task of memoryMiB.
func baseEnv(p QueryRunnerProps, memoryMiB int) map[string]*string {
	env := map[string]*string{}
	for k, v := range p.Environment {
		env[k] = jsii.String(v)
	}
	if !p.setsEnv(goMemLimitEnv) {
		env[goMemLimitEnv] = jsii.String(goMemLimit(memoryMiB))
	}
	if !p.setsEnv(stopGraceEnv) && p.StopTimeout > 0 {
		env[stopGraceEnv] = jsii.String(stopGrace(p.StopTimeout))
	}
	return env
}

// stopGrace is the runner's share of the stop timeout: the rest is for exiting and for
// awslogs to ship the last lines (the manifest) before SIGKILL.
func stopGrace(stopTimeout time.Duration) string {
	return (stopTimeout - stopGraceMargin).String()
}

// goMemLimitEnv is the Go runtime's soft memory limit. A Fargate container does not always
// see the task's memory in its own cgroup, so the task definition states it.
const goMemLimitEnv = "GOMEMLIMIT"

// goMemLimit leaves 30% of the task's memory to the SQL engine, goroutine stacks and the
// binary's pages: the reference run peaks at about 370 MB of a 512 MB task with this.
// spout run applies the same share to its cgroup's limit when GOMEMLIMIT is not set
// (memoryLimitShare in cmd/spout/run.go).
func goMemLimit(taskMiB int) string {
	return fmt.Sprintf("%dMiB", taskMiB*7/10)
}
