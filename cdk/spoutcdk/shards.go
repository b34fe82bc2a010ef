package spoutcdk

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Each shard's iteration ends as one of these strings, so the states after the Map can
// tell whether any failed without holding the tasks' descriptions (which would outgrow
// the 256 KiB state payload with many shards).
const (
	shardSucceeded = "succeeded"
	shardFailed    = "failed"
)

// newShardedRun defines a group's state machine: a Map over shards 1..n that runs the
// group's task once per shard with SPOUT_SHARD="<i>/<n>" and waits for it (.sync), and an
// EventBridge schedule that starts it.
//
// A failed shard does not stop the others: each iteration catches its own failure, and
// the execution fails after the Map when any shard failed. ecs:runTask.sync does fail
// the state when the essential container exits non-zero (States.TaskFailed), but the
// Step Functions documentation only promises that for a RunTask response with Failures,
// so the iteration also checks the container's exit code itself.
func newShardedRun(c constructs.Construct, r *QueryRunner, p QueryRunnerProps, s schedule,
	taskDef awsecs.FargateTaskDefinition, container awsecs.ContainerDefinition, logs awslogs.ILogGroup) awsstepfunctions.StateMachine {
	scope := constructs.NewConstruct(c, jsii.String("Shards-"+s.group))

	shards := make([]any, p.Shards)
	for i := range shards {
		shards[i] = i + 1
	}
	list := awsstepfunctions.NewPass(scope, jsii.String("ListShards"), &awsstepfunctions.PassProps{
		Comment: jsii.String("The 1-based shard numbers of this group"),
		Result:  awsstepfunctions.Result_FromArray(&shards),
	})

	run := awsstepfunctionstasks.NewEcsRunTask(scope, jsii.String("RunShard"), &awsstepfunctionstasks.EcsRunTaskProps{
		Comment:            jsii.String("spout run --schedule " + s.group + " for one shard"),
		IntegrationPattern: awsstepfunctions.IntegrationPattern_RUN_JOB,
		Cluster:            r.Cluster,
		TaskDefinition:     taskDef,
		LaunchTarget: awsstepfunctionstasks.NewEcsFargateLaunchTarget(&awsstepfunctionstasks.EcsFargateLaunchTargetOptions{
			PlatformVersion: awsecs.FargatePlatformVersion_LATEST,
		}),
		Subnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		SecurityGroups:      &[]awsec2.ISecurityGroup{r.SecurityGroup},
		AssignPublicIp:      jsii.Bool(false),
		PropagatedTagSource: awsecs.PropagatedTagSource_TASK_DEFINITION,
		ContainerOverrides: &[]*awsstepfunctionstasks.ContainerOverride{{
			ContainerDefinition: container,
			Environment: &[]*awsstepfunctionstasks.TaskEnvironmentVariable{{
				Name:  jsii.String(shardEnv),
				Value: awsstepfunctions.JsonPath_Format(jsii.String(fmt.Sprintf("{}/%d", p.Shards)), awsstepfunctions.JsonPath_StringAt(jsii.String("$.shard"))),
			}},
		}},
		// Containers is always in the result; a container that never started has no
		// ExitCode, and a path that is not there is an error no Catch sees (States.Runtime).
		ResultSelector: &map[string]any{"containers.$": "$.Containers"},
	})
	succeeded := awsstepfunctions.NewPass(scope, jsii.String("ShardSucceeded"), &awsstepfunctions.PassProps{
		Result: awsstepfunctions.Result_FromString(jsii.String(shardSucceeded)),
	})
	failed := awsstepfunctions.NewPass(scope, jsii.String("ShardFailed"), &awsstepfunctions.PassProps{
		Result: awsstepfunctions.Result_FromString(jsii.String(shardFailed)),
	})
	run.AddCatch(failed, &awsstepfunctions.CatchProps{Errors: jsii.Strings(*awsstepfunctions.Errors_ALL())})
	exitCode := jsii.String("$.containers[0].ExitCode")
	checkExit := awsstepfunctions.NewChoice(scope, jsii.String("CheckExitCode"), nil).
		// Rules are tried in order, so the comparison only sees an exit code that is there.
		When(awsstepfunctions.Condition_Not(awsstepfunctions.Condition_IsPresent(exitCode)), failed, nil).
		When(awsstepfunctions.Condition_NumberEquals(exitCode, jsii.Number(0)), succeeded, nil).
		Otherwise(failed)

	shardMap := awsstepfunctions.NewMap(scope, jsii.String("RunShards"), &awsstepfunctions.MapProps{
		Comment:        jsii.String(fmt.Sprintf("%d shards, at most %d at once", p.Shards, p.MaxConcurrency)),
		MaxConcurrency: jsii.Number(float64(p.MaxConcurrency)),
		ItemSelector:   &map[string]any{"shard": awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Map.Item.Value"))},
	})
	shardMap.ItemProcessor(run.Next(checkExit), nil)

	anyFailed := awsstepfunctions.NewPass(scope, jsii.String("CheckShards"), &awsstepfunctions.PassProps{
		Parameters: &map[string]any{
			"anyFailed": awsstepfunctions.JsonPath_ArrayContains(awsstepfunctions.JsonPath_EntirePayload(), shardFailed),
		},
	})
	verdict := awsstepfunctions.NewChoice(scope, jsii.String("AnyShardFailed"), nil).
		When(awsstepfunctions.Condition_BooleanEquals(jsii.String("$.anyFailed"), jsii.Bool(true)),
			awsstepfunctions.NewFail(scope, jsii.String("ShardsFailed"), &awsstepfunctions.FailProps{
				Error: jsii.String("Spout.ShardsFailed"),
				Cause: jsii.String("At least one shard of " + s.group + " failed; its RunShard iteration in the execution history has the task and exit code"),
			}), nil).
		Otherwise(awsstepfunctions.NewSucceed(scope, jsii.String("AllShardsSucceeded"), nil))

	definition := list.Next(shardMap).Next(anyFailed).Next(verdict)
	machine := awsstepfunctions.NewStateMachine(scope, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:        jsii.String("Spout schedule group " + s.group + " in " + fmt.Sprint(p.Shards) + " shards"),
		DefinitionBody: awsstepfunctions.DefinitionBody_FromChainable(definition),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})

	rule := awsevents.NewRule(scope, jsii.String("Schedule"), &awsevents.RuleProps{
		Description: jsii.String("Starts the Spout schedule group " + s.group + " in " + fmt.Sprint(p.Shards) + " shards"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(s.expression)),
	})
	rule.AddTarget(awseventstargets.NewSfnStateMachine(machine, nil))
	suppressStateMachineFindings(machine, taskDef)
	return machine
}

// newExecutionFailureRule publishes every execution of the sharded groups' state
// machines that fails, times out or is aborted.
func newExecutionFailureRule(c constructs.Construct, machines []awsstepfunctions.StateMachine, topic awssns.ITopic) awsevents.Rule {
	var arns []any
	for _, m := range machines {
		arns = append(arns, m.StateMachineArn())
	}
	rule := awsevents.NewRule(c, jsii.String("ShardedRunFailedRule"), &awsevents.RuleProps{
		Description: jsii.String("A sharded Spout run's Step Functions execution failed, timed out or was aborted"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]any{
				"status":          []any{"FAILED", "TIMED_OUT", "ABORTED"},
				"stateMachineArn": arns,
			},
		},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(topic, nil))
	return rule
}

// newStateMachineLogs is the one log group the sharded groups' state machines write to.
func newStateMachineLogs(c constructs.Construct, p QueryRunnerProps) awslogs.LogGroup {
	return awslogs.NewLogGroup(c, jsii.String("ShardLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[p.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}
