package spoutcdk

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ServeContainerName is the name of the `spout serve` container.
const ServeContainerName = "spout-serve"

// newServe defines `spout serve` as a Fargate service behind an internal NLB. The NLB has
// its own security group, the only one that admits Peer; the tasks admit just the NLB,
// so neither client traffic from elsewhere nor a route around the NLB reaches them.
func newServe(c constructs.Construct, r *QueryRunner, p QueryRunnerProps, image awsecs.ContainerImage,
	env map[string]*string, secrets map[string]awsecs.Secret) {
	o := p.Serve
	port := awsec2.Port_Tcp(jsii.Number(float64(o.Port)))
	scope := constructs.NewConstruct(c, jsii.String("Serve"))

	r.ServeLogGroup = awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[p.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	taskDef := awsecs.NewFargateTaskDefinition(scope, jsii.String("TaskDef"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(float64(o.CPU)),
		MemoryLimitMiB: jsii.Number(float64(o.MemoryMiB)),
		RuntimePlatform: &awsecs.RuntimePlatform{
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
		},
		TaskRole:      r.TaskRole,
		ExecutionRole: r.ExecutionRole,
	})
	taskDef.AddContainer(jsii.String(ServeContainerName), &awsecs.ContainerDefinitionOptions{
		Image: image,
		// The image's ENTRYPOINT is ["/spout", "run"]; this container is the server.
		EntryPoint:   jsii.Strings("/spout"),
		Command:      jsii.Strings("serve", "--listen", ":"+strconv.Itoa(o.Port)),
		Environment:  &env,
		Secrets:      &secrets,
		StopTimeout:  awscdk.Duration_Seconds(jsii.Number(p.StopTimeout.Seconds())),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(float64(o.Port)), Protocol: awsecs.Protocol_TCP}},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     r.ServeLogGroup,
			StreamPrefix: jsii.String("serve"),
			// A server's log must not stall its queries when CloudWatch is slow.
			Mode: awsecs.AwsLogDriverMode_NON_BLOCKING,
		}),
	})

	lbGroup := awsec2.NewSecurityGroup(scope, jsii.String("LoadBalancerSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              r.Vpc,
		Description:      jsii.String(fmt.Sprintf("Spout serve load balancer: TCP %d from the configured peer only", o.Port)),
		AllowAllOutbound: jsii.Bool(false),
	})
	lbGroup.AddIngressRule(o.Peer, port, jsii.String("Spout serve clients"), nil)
	r.ServeSecurityGroup = awsec2.NewSecurityGroup(scope, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:         r.Vpc,
		Description: jsii.String(fmt.Sprintf("Spout serve tasks: TCP %d from the load balancer; outbound to AWS APIs", o.Port)),
		// Queries call AWS APIs in any region, as the runner's do.
		AllowAllOutbound: jsii.Bool(true),
	})
	// Client connections and health checks both come from the load balancer's group;
	// this also opens the load balancer's egress to the tasks on the port, and no more.
	r.ServeSecurityGroup.Connections().AllowFrom(lbGroup, port, jsii.String("Spout serve load balancer"))

	private := &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	r.Service = awsecs.NewFargateService(scope, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:        r.Cluster,
		TaskDefinition: taskDef,
		DesiredCount:   jsii.Number(float64(o.DesiredCount)),
		VpcSubnets:     private,
		AssignPublicIp: jsii.Bool(false),
		SecurityGroups: &[]awsec2.ISecurityGroup{r.ServeSecurityGroup},
		// A release that cannot start rolls back instead of replacing working tasks.
		CircuitBreaker: &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)},
		// Keep the serving tasks up while new ones start.
		MinHealthyPercent: jsii.Number(100),
		PropagateTags:     awsecs.PropagatedTagSource_SERVICE,
	})

	r.LoadBalancer = awselasticloadbalancingv2.NewNetworkLoadBalancer(scope, jsii.String("LoadBalancer"), &awselasticloadbalancingv2.NetworkLoadBalancerProps{
		Vpc:            r.Vpc,
		InternetFacing: jsii.Bool(false),
		VpcSubnets:     private,
		SecurityGroups: &[]awsec2.ISecurityGroup{lbGroup},
	})
	listener := r.LoadBalancer.AddListener(jsii.String("Listener"), &awselasticloadbalancingv2.BaseNetworkListenerProps{
		Port:     jsii.Number(float64(o.Port)),
		Protocol: awselasticloadbalancingv2.Protocol_TCP,
	})
	listener.AddTargets(jsii.String("Tasks"), &awselasticloadbalancingv2.AddNetworkTargetsProps{
		Port:     jsii.Number(float64(o.Port)),
		Protocol: awselasticloadbalancingv2.Protocol_TCP,
		Targets: &[]awselasticloadbalancingv2.INetworkLoadBalancerTarget{r.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
			ContainerName: jsii.String(ServeContainerName),
			ContainerPort: jsii.Number(float64(o.Port)),
		})},
		HealthCheck: &awselasticloadbalancingv2.HealthCheck{
			Protocol: awselasticloadbalancingv2.Protocol_TCP,
			Port:     jsii.String(strconv.Itoa(o.Port)),
		},
		// Open sessions get StopTimeout to finish once a task is draining, not the
		// default 300s, which only slows deployments.
		DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(p.StopTimeout.Seconds())),
	})
	suppressServeFindings(r, taskDef, len(env) > 0)
}

// serveSecrets adds the server's own secrets to the shared ones.
func serveSecrets(c constructs.Construct, o *ServeOptions, shared map[string]awsecs.Secret) map[string]awsecs.Secret {
	refs := map[string]SecretRef{servePasswordEnv: o.PasswordSecret}
	if o.TLSCertSecret.Secret != "" {
		refs[serveTLSCertEnv] = o.TLSCertSecret
		refs[serveTLSKeyEnv] = o.TLSKeySecret
	}
	secrets := containerSecrets(c, refs)
	for k, v := range shared {
		secrets[k] = v
	}
	return secrets
}
