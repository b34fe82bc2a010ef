package spoutcdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// MemberRoleProps configures the role the runner assumes in a member account.
type MemberRoleProps struct {
	// RunnerRoleArn is the runner's task role (QueryRunner.TaskRole), the only principal
	// the member role trusts. It may be a token, e.g. a CfnParameter's value.
	RunnerRoleArn *string
	// RoleName must equal the runner's QueryRunner.QueryRoleName. Default "SpoutQueryRole".
	RoleName string
	// ReadOnlyActions replaces ViewOnlyAccess with an inline policy of these actions, with
	// the same rules as QueryRunnerProps.ReadOnlyActions.
	ReadOnlyActions []string
}

// NewMemberRole defines the member-account role: ViewOnlyAccess (or ReadOnlyActions),
// trusted only by the runner's task role.
func NewMemberRole(scope constructs.Construct, id string, props *MemberRoleProps) (awsiam.Role, error) {
	if props == nil || props.RunnerRoleArn == nil {
		return nil, propErrorf("RunnerRoleArn", "required: the runner's task role ARN")
	}
	name := props.RoleName
	if name == "" {
		name = DefaultQueryRoleName
	}
	if !roleNamePattern.MatchString(name) {
		return nil, propErrorf("RoleName", "%q is not an IAM role name", name)
	}
	if err := validateActions("ReadOnlyActions", props.ReadOnlyActions); err != nil {
		return nil, err
	}

	roleProps := &awsiam.RoleProps{
		// A fixed name is the contract: the runner assumes arn:aws:iam::<account>:role/<name>.
		RoleName:    jsii.String(name),
		AssumedBy:   awsiam.NewArnPrincipal(props.RunnerRoleArn),
		Description: jsii.String("Spout: read-only inventory access for the runner's task role"),
	}
	if len(props.ReadOnlyActions) > 0 {
		roleProps.InlinePolicies = &map[string]awsiam.PolicyDocument{
			"spout": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("ReadInventory"),
					Actions:   jsii.Strings(props.ReadOnlyActions...),
					Resources: jsii.Strings("*"),
				})},
			}),
		}
	} else {
		roleProps.ManagedPolicies = &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String(viewOnlyAccess)),
		}
	}
	role := awsiam.NewRole(scope, jsii.String(id), roleProps)
	suppressReadOnlyFindings(role, len(props.ReadOnlyActions) > 0)
	return role, nil
}

// MemberRoleStackProps configures NewMemberRoleStack.
type MemberRoleStackProps struct {
	awscdk.StackProps
	// RoleName and ReadOnlyActions are passed to NewMemberRole.
	RoleName        string
	ReadOnlyActions []string
}

// NewMemberRoleStack defines a stack that onboards one member account: deploy it there
// with the RunnerRoleArn parameter set to the runner stack's TaskRoleArn output, with
// `cdk deploy` or as a CloudFormation StackSet. It uses the legacy synthesizer, which needs
// no bootstrap in the member account and adds no bootstrap-version check to the template,
// so the synthesized template deploys anywhere as it is.
func NewMemberRoleStack(scope constructs.Construct, id string, props *MemberRoleStackProps) (awscdk.Stack, error) {
	if props == nil {
		props = &MemberRoleStackProps{}
	}
	stackProps := props.StackProps
	if stackProps.Synthesizer == nil {
		stackProps.Synthesizer = awscdk.NewLegacyStackSynthesizer()
	}
	if stackProps.Description == nil {
		stackProps.Description = jsii.String("Spout member account: the read-only role the Spout runner assumes")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &stackProps)
	runnerRoleArn := awscdk.NewCfnParameter(stack, jsii.String("RunnerRoleArn"), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("ARN of the Spout runner's task role (the runner stack's TaskRoleArn output)"),
		AllowedPattern:        jsii.String(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`),
		ConstraintDescription: jsii.String("an IAM role ARN, e.g. arn:aws:iam::111111111111:role/Spout-RunnerTaskRole..."),
	})
	role, err := NewMemberRole(stack, "QueryRole", &MemberRoleProps{
		RunnerRoleArn:   runnerRoleArn.ValueAsString(),
		RoleName:        props.RoleName,
		ReadOnlyActions: props.ReadOnlyActions,
	})
	if err != nil {
		return nil, err
	}
	awscdk.NewCfnOutput(stack, jsii.String("QueryRoleArn"), &awscdk.CfnOutputProps{
		Value:       role.RoleArn(),
		Description: jsii.String("The role the runner assumes in this account"),
	})
	return stack, nil
}

// suppressReadOnlyFindings records why the read-only grant of a runner or member role
// is acceptable to cdk-nag's AwsSolutions pack.
func suppressReadOnlyFindings(role awsiam.Role, inline bool) {
	if inline {
		cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("ReadInventory lists the read actions the operator chose (e.g. ec2:Describe*); " +
				"inventory reads every resource of a type, so they cannot be scoped to resources. " +
				"Bare '*' and 'service:*' actions are refused at synth."),
			AppliesTo: &[]any{
				&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Action::[a-z0-9-]+:[A-Za-z0-9?]*\*[A-Za-z0-9*?]*$/`)},
				"Resource::*",
			},
		}}, jsii.Bool(true))
		return
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("ViewOnlyAccess is the AWS-maintained read-only job-function policy: it follows new " +
			"services and lists/describes resources without reading their data, which is what inventory needs."),
		AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/job-function/ViewOnlyAccess"},
	}}, jsii.Bool(true))
}
