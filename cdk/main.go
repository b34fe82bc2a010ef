// Command cdk is the CDK app that deploys the Spout runner. It is configured by a props
// file (props.yaml, or the file named by the spout:propsFile context key) and defines two
// stacks: the runner, and the member-account role that onboards one more account.
//
//	npx cdk synth
//	npx cdk deploy Spout
//	npx cdk deploy -c spout:propsFile=prod.yaml Spout
package main

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/spoutdev/spout/cdk/spoutcdk"
)

const (
	propsFileContext = "spout:propsFile"
	defaultPropsFile = "props.yaml"
)

func main() {
	app := awscdk.NewApp(nil)
	if err := build(app); err != nil {
		// No jsii.Close here: the Node.js child exits with this process, and closing it
		// first only adds a confusing line to the error.
		fmt.Fprintln(os.Stderr, "spout cdk:", err)
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}

// build defines the app's stacks from the props file named in context.
func build(app awscdk.App) error {
	path := defaultPropsFile
	if v, ok := app.Node().TryGetContext(jsii.String(propsFileContext)).(string); ok && v != "" {
		path = v
	}
	props, err := loadProps(path)
	if err != nil {
		return err
	}
	runner, err := newRunnerStack(app, props)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = spoutcdk.NewMemberRoleStack(app, props.MemberStackName, &spoutcdk.MemberRoleStackProps{
		RoleName:        runner.QueryRoleName,
		ReadOnlyActions: props.ReadOnlyActions,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Every synth runs the AwsSolutions checks: a finding without a written suppression
	// fails `cdk synth` and `cdk deploy` before anything reaches the account.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return nil
}

// newRunnerStack defines the runner stack and the outputs the README's steps use.
func newRunnerStack(app awscdk.App, p *appProps) (*spoutcdk.QueryRunner, error) {
	stackProps := &awscdk.StackProps{
		Description: jsii.String("Spout: scheduled Steampipe-style queries over AWS, results to sinks"),
	}
	// Without account and region the stack is environment-agnostic: no lookups, so synth
	// works offline, and `cdk deploy` targets the CLI's current account and region.
	if p.Account != "" {
		stackProps.Env = &awscdk.Environment{Account: jsii.String(p.Account), Region: jsii.String(p.Region)}
	}
	stack := awscdk.NewStack(app, jsii.String(p.StackName), stackProps)
	for _, k := range slices.Sorted(maps.Keys(p.Tags)) {
		awscdk.Tags_Of(stack).Add(jsii.String(k), jsii.String(p.Tags[k]), nil)
	}

	runner, err := spoutcdk.NewQueryRunner(stack, "Runner", p.runnerProps())
	if err != nil {
		return nil, err
	}
	outputs := []struct{ id, value, description string }{
		{"TaskRoleArn", *runner.TaskRole.RoleArn(), "Pass to the member stack's RunnerRoleArn parameter"},
		{"QueryRoleName", runner.QueryRoleName, "The role the runner assumes in member accounts"},
		{"ClusterName", *runner.Cluster.ClusterName(), "ECS cluster running the scheduled tasks"},
		{"LogGroupName", *runner.LogGroup.LogGroupName(), "Runner logs and run manifests"},
		{"AlarmTopicArn", *runner.AlarmTopic.TopicArn(), "Failed runs are published here"},
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
	return runner, nil
}
