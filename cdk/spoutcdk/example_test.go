package spoutcdk_test

import (
	"log"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/spoutdev/spout/cdk/spoutcdk"
)

// A runner that uses an image already in ECR and reads its secrets from Secrets Manager,
// and the stack that onboards member accounts.
func ExampleNewQueryRunner() {
	config, err := os.ReadFile("spout.yaml")
	if err != nil {
		log.Fatal(err)
	}
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Spout"), nil)
	runner, err := spoutcdk.NewQueryRunner(stack, "Runner", &spoutcdk.QueryRunnerProps{
		Config:          string(config),
		ImageRepository: "spout",
		ImageTag:        "v0.1.0",
		Secrets: map[string]spoutcdk.SecretRef{
			"SPOUT_PG_DSN": {Secret: "spout/postgres", Field: "dsn"},
		},
		AlarmEmail: "ops@example.com",
	})
	if err != nil {
		log.Fatal(err) // a *spoutcdk.PropError names the property at fault
	}
	awscdk.NewCfnOutput(stack, jsii.String("TaskRoleArn"), &awscdk.CfnOutputProps{Value: runner.TaskRole.RoleArn()})

	if _, err := spoutcdk.NewMemberRoleStack(app, "SpoutMemberRole", &spoutcdk.MemberRoleStackProps{
		RoleName: runner.QueryRoleName,
	}); err != nil {
		log.Fatal(err)
	}
	app.Synth(nil)
}
