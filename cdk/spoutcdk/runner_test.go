package spoutcdk

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// check runs assertions that panic on failure (jsii turns a failed assertion into a
// panic) and reports the failure as a test error, so one failure does not end the run.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assert()
}

// resourcesOfType returns the logical ids of a template's resources of one type, sorted.
func resourcesOfType(tmpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range tmpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func properties(tmpl map[string]any, id string) map[string]any {
	return tmpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
}

// onlyID returns the single logical id of a resource of typ, failing otherwise.
func onlyID(t *testing.T, tmpl map[string]any, typ, prefix string) string {
	t.Helper()
	var found []string
	for _, id := range resourcesOfType(tmpl, typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with id prefix %q, found %v", typ, prefix, found)
	}
	return found[0]
}

// taskDefinitionFor returns the logical id of the task definition whose container runs
// `--schedule group`.
func taskDefinitionFor(t *testing.T, tmpl map[string]any, group string) string {
	t.Helper()
	for _, id := range resourcesOfType(tmpl, "AWS::ECS::TaskDefinition") {
		c := properties(tmpl, id)["ContainerDefinitions"].([]any)[0].(map[string]any)
		if fmt.Sprint(c["Command"]) == fmt.Sprint([]any{"--schedule", group}) {
			return id
		}
	}
	t.Fatalf("no task definition runs --schedule %s", group)
	return ""
}

// scheduledRules returns the logical ids of the EventBridge rules that run on a schedule.
func scheduledRules(tmpl map[string]any) []string {
	var ids []string
	for _, id := range resourcesOfType(tmpl, "AWS::Events::Rule") {
		if _, ok := properties(tmpl, id)["ScheduleExpression"]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// matches applies an assertions matcher to one value taken from a template.
func matches(t *testing.T, what string, m assertions.Matcher, actual any) {
	t.Helper()
	if r := m.Test(actual); *r.HasFailed() {
		var lines []string
		for _, l := range *r.ToHumanStrings() {
			lines = append(lines, *l)
		}
		t.Errorf("%s: %s", what, strings.Join(lines, "\n"))
	}
}

func ref(id string) map[string]any     { return map[string]any{"Ref": id} }
func getAtt(id, attr string) []any     { return []any{id, attr} }
func arn(id string) map[string]any     { return map[string]any{"Fn::GetAtt": getAtt(id, "Arn")} }
func join(parts ...any) map[string]any { return map[string]any{"Fn::Join": []any{"", parts}} }

var partition = ref("AWS::Partition")

func TestTaskDefinitionsAreARM64Fargate(t *testing.T) {
	s := synth(t)
	for stack, size := range map[string][2]string{fullStack: {"256", "512"}, minimalStack: {"512", "1024"}} {
		tmpl := s.template(stack)
		check(t, stack, func() {
			tmpl.AllResourcesProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
				"RuntimePlatform":         map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
				"RequiresCompatibilities": []any{"FARGATE"},
				"NetworkMode":             "awsvpc",
				"Cpu":                     size[0],
				"Memory":                  size[1],
			})
		})
	}
}

func TestTasksRunInPrivateSubnetsWithoutPublicIP(t *testing.T) {
	s := synth(t)

	// Full creates its VPC: the task subnets are the ones the CDK tags Private.
	full := s.templates[fullStack]
	var private []any
	for _, id := range resourcesOfType(full, "AWS::EC2::Subnet") {
		p := properties(full, id)
		for _, tag := range p["Tags"].([]any) {
			if tag.(map[string]any)["Key"] == "aws-cdk:subnet-type" && tag.(map[string]any)["Value"] == "Private" {
				private = append(private, ref(id))
				if p["MapPublicIpOnLaunch"] != false {
					t.Errorf("private subnet %s maps public IPs: %v", id, p["MapPublicIpOnLaunch"])
				}
			}
		}
	}
	if len(private) != 2 {
		t.Fatalf("want 2 private subnets (MaxAzs default), got %v", private)
	}
	// Minimal looks its VPC up (testdata/vpc-lookup.json): only the Private group's
	// subnets, not Public or Isolated ones.
	subnets := map[string][]any{fullStack: private, minimalStack: {"subnet-0000000000000a002", "subnet-0000000000000b002"}}

	for stack, want := range subnets {
		tmpl := s.template(stack)
		sg := onlyID(t, s.templates[stack], "AWS::EC2::SecurityGroup", "RunnerTaskSecurityGroup")
		rules := scheduledRules(s.templates[stack])
		if len(rules) == 0 {
			t.Fatalf("%s: no scheduled rules", stack)
		}
		for _, rule := range rules {
			matches(t, stack+": "+rule, assertions.Match_ObjectLike(&map[string]any{
				"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
					"EcsParameters": assertions.Match_ObjectLike(&map[string]any{
						"LaunchType": "FARGATE",
						"NetworkConfiguration": assertions.Match_ObjectEquals(&map[string]any{
							"AwsVpcConfiguration": map[string]any{
								"AssignPublicIp": "DISABLED",
								"Subnets":        want,
								"SecurityGroups": []any{map[string]any{"Fn::GetAtt": getAtt(sg, "GroupId")}},
							},
						}),
					}),
				})},
			}), properties(s.templates[stack], rule))
		}
		check(t, stack+": no load balancer or service", func() {
			tmpl.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), jsii.Number(0))
			tmpl.ResourceCountIs(jsii.String("AWS::ECS::Service"), jsii.Number(0))
		})
		check(t, stack+": security group has no ingress", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
				"SecurityGroupIngress": assertions.Match_Absent(),
			})
		})
	}
}

func TestOneScheduledTaskPerScheduleGroup(t *testing.T) {
	s := synth(t)
	want := map[string]map[string]string{
		fullStack:    {"daily": "cron(0 6 * * ? *)", "hourly": "rate(1 hour)"},
		minimalStack: {"nightly": "cron(30 2 * * ? *)"},
	}
	for stack, schedules := range want {
		tmpl := s.template(stack)
		if rules := scheduledRules(s.templates[stack]); len(rules) != len(schedules) {
			t.Errorf("%s: scheduled rules %v, want %d", stack, rules, len(schedules))
		}
		for group, expr := range schedules {
			taskDef := taskDefinitionFor(t, s.templates[stack], group)
			check(t, stack+" "+group, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
					"ScheduleExpression": expr,
					"State":              "ENABLED",
					"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
						"Arn": arn(onlyID(t, s.templates[stack], "AWS::ECS::Cluster", "RunnerCluster")),
						"EcsParameters": assertions.Match_ObjectLike(&map[string]any{
							"TaskDefinitionArn": ref(taskDef),
							"TaskCount":         1,
						}),
					})},
				})
			})
		}
	}
}

func TestLogsAndContainerInsights(t *testing.T) {
	s := synth(t)
	for stack, days := range map[string]int{fullStack: 90, minimalStack: 30} {
		tmpl := s.template(stack)
		logs := onlyID(t, s.templates[stack], "AWS::Logs::LogGroup", "RunnerLogs")
		check(t, stack+": log group", func() {
			tmpl.HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"Properties":     map[string]any{"RetentionInDays": days},
				"DeletionPolicy": "Retain",
			})
			// Every log group, flow logs included, expires.
			tmpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": days})
		})
		for _, id := range resourcesOfType(s.templates[stack], "AWS::ECS::TaskDefinition") {
			c := properties(s.templates[stack], id)["ContainerDefinitions"].([]any)[0].(map[string]any)
			group := c["Command"].([]any)[1]
			check(t, stack+": "+id+" log configuration", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
					"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{
						"Command": []any{"--schedule", group},
						"LogConfiguration": map[string]any{
							"LogDriver": "awslogs",
							"Options": assertions.Match_ObjectLike(&map[string]any{
								"awslogs-group":         ref(logs),
								"awslogs-stream-prefix": group,
								"mode":                  "blocking",
							}),
						},
					})},
				})
			})
		}
		check(t, stack+": container insights", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), map[string]any{
				"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enabled"}},
			})
		})
	}
	check(t, "flow logs on the created VPC", func() {
		s.template(fullStack).HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{
			"ResourceType": "VPC",
			"TrafficType":  "ALL",
		})
	})
}

func TestTaskRolePolicy(t *testing.T) {
	s := synth(t)
	viewOnly := []any{join("arn:", partition, ":iam::aws:policy/job-function/ViewOnlyAccess")}
	want := map[string]struct {
		statements []any
		managed    any
	}{
		fullStack: {
			statements: []any{
				map[string]any{"Sid": "AssumeQueryRole", "Effect": "Allow", "Action": "sts:AssumeRole",
					"Resource": join("arn:", partition, ":iam::*:role/SpoutQueryRole")},
				map[string]any{"Sid": "ListOrganizationAccounts", "Effect": "Allow", "Action": "organizations:ListAccounts",
					"Resource": "*"},
				// ${LAKE_BUCKET} resolved from Environment, the templated prefix cut at
				// "{{", and the two sinks sharing inventory-lake/spout/ granted once.
				map[string]any{"Sid": "WriteS3Sinks", "Effect": "Allow",
					"Action": []any{"s3:PutObject", "s3:AbortMultipartUpload"},
					"Resource": []any{
						join("arn:", partition, ":s3:::inventory-archive/runs/*"),
						join("arn:", partition, ":s3:::inventory-lake/spout/*"),
					}},
				map[string]any{"Sid": "ReadWriteDiffState", "Effect": "Allow",
					"Action":   []any{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
					"Resource": join("arn:", partition, ":s3:::inventory-lake/spout-state/*")},
				map[string]any{"Sid": "ListDiffState", "Effect": "Allow", "Action": "s3:ListBucket",
					"Resource":  join("arn:", partition, ":s3:::inventory-lake"),
					"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": "spout-state/*"}}},
			},
			managed: viewOnly,
		},
		minimalStack: {
			statements: []any{
				map[string]any{"Sid": "AssumeQueryRole", "Effect": "Allow", "Action": "sts:AssumeRole",
					"Resource": join("arn:", partition, ":iam::*:role/InventoryReader")},
				map[string]any{"Sid": "ReadInventory", "Effect": "Allow",
					"Action":   []any{"ec2:Describe*", "s3:GetBucketPolicyStatus"},
					"Resource": "*"},
			},
			managed: assertions.Match_Absent(),
		},
	}
	for stack, w := range want {
		tmpl := s.template(stack)
		role := onlyID(t, s.templates[stack], "AWS::IAM::Role", "RunnerTaskRole")
		check(t, stack+": task role policy", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
				"Description":       assertions.Match_StringLikeRegexp(jsii.String("^Spout runner: reads inventory")),
				"ManagedPolicyArns": w.managed,
				"Policies": assertions.Match_Exact([]any{map[string]any{
					"PolicyName": "spout",
					"PolicyDocument": map[string]any{
						"Version":   "2012-10-17",
						"Statement": w.statements,
					},
				}}),
			})
		})
		check(t, stack+": task role trust", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
				"Description": assertions.Match_StringLikeRegexp(jsii.String("^Spout runner: reads inventory")),
				"AssumeRolePolicyDocument": map[string]any{"Statement": []any{assertions.Match_ObjectLike(&map[string]any{
					"Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"},
					"Condition": assertions.Match_ObjectLike(&map[string]any{
						"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
					}),
				})}},
			})
		})

		// The inline policy is the whole grant: no other policy names the task role.
		for _, id := range resourcesOfType(s.templates[stack], "AWS::IAM::Policy") {
			for _, r := range properties(s.templates[stack], id)["Roles"].([]any) {
				if fmt.Sprint(r) == fmt.Sprint(ref(role)) {
					t.Errorf("%s: policy %s also grants the task role", stack, id)
				}
			}
		}
		for _, st := range w.statements {
			actions := st.(map[string]any)["Action"]
			list, ok := actions.([]any)
			if !ok {
				list = []any{actions}
			}
			for _, a := range list {
				if a == "*" || strings.HasSuffix(a.(string), ":*") {
					t.Errorf("%s: task role allows %v", stack, a)
				}
			}
		}

		// The execution role is a different role.
		exec := onlyID(t, s.templates[stack], "AWS::IAM::Role", "RunnerExecutionRole")
		check(t, stack+": separate execution role", func() {
			tmpl.AllResourcesProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
				"TaskRoleArn":      arn(role),
				"ExecutionRoleArn": arn(exec),
			})
		})
	}
}

func TestSecretsWiring(t *testing.T) {
	s := synth(t)
	fullConfig, err := os.ReadFile(filepath.Join("testdata", "spout-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pgValueFrom := join("arn:", partition, ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":secret:spout/postgres:dsn::")
	webhook := "arn:aws:secretsmanager:us-east-1:111111111111:secret:spout/webhook-AbCdEf"

	full := s.template(fullStack)
	check(t, "full: container secrets and environment", func() {
		full.AllResourcesProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
			"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{
				"Secrets": []any{
					map[string]any{"Name": "ALERTS_WEBHOOK_URL", "ValueFrom": webhook},
					map[string]any{"Name": "SPOUT_PG_DSN", "ValueFrom": pgValueFrom},
				},
				"Environment": []any{
					map[string]any{"Name": "GOMEMLIMIT", "Value": "358MiB"}, // 70% of the default 512 MiB
					map[string]any{"Name": "LAKE_BUCKET", "Value": "inventory-lake"},
					map[string]any{"Name": "SPOUT_CONFIG_YAML", "Value": string(fullConfig)},
					map[string]any{"Name": "SPOUT_LOG_LEVEL", "Value": "debug"},
					map[string]any{"Name": "SPOUT_METRICS", "Value": "emf"},
					map[string]any{"Name": "SPOUT_METRICS_NAMESPACE", "Value": "Spout"},
					map[string]any{"Name": "SPOUT_STOP_GRACE", "Value": "25s"}, // the default 30s stop timeout - 5s
				},
			})},
		})
	})
	check(t, "full: execution role reads the secrets", func() {
		full.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"Roles": []any{ref(onlyID(t, s.templates[fullStack], "AWS::IAM::Role", "RunnerExecutionRole"))},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Effect": "Allow", "Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
					"Resource": webhook},
				map[string]any{"Effect": "Allow", "Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
					"Resource": join("arn:", partition, ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":secret:spout/postgres-??????")},
			})},
		})
	})

	minimal := s.template(minimalStack)
	param := join("arn:", partition, ":ssm:eu-west-1:111111111111:parameter/spout/config")
	check(t, "minimal: config from SSM as an ECS secret", func() {
		minimal.AllResourcesProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
			"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{
				"Secrets": []any{map[string]any{"Name": "SPOUT_CONFIG_YAML", "ValueFrom": param}},
				// The Go heap's share of this stack's 1024 MiB task, the grace of its 120s stop
				// timeout, and no metrics settings (DisableMetrics).
				"Environment": []any{
					map[string]any{"Name": "GOMEMLIMIT", "Value": "716MiB"},
					map[string]any{"Name": "SPOUT_STOP_GRACE", "Value": "1m55s"},
				},
			})},
		})
		minimal.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"Roles": []any{ref(onlyID(t, s.templates[minimalStack], "AWS::IAM::Role", "RunnerExecutionRole"))},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Action":   assertions.Match_ArrayWith(&[]any{"ssm:GetParameters"}),
					"Resource": param,
				}),
			})},
		})
	})
}

func TestFailureAlert(t *testing.T) {
	s := synth(t)
	for _, stack := range []string{fullStack, minimalStack} {
		tmpl := s.template(stack)
		cluster := onlyID(t, s.templates[stack], "AWS::ECS::Cluster", "RunnerCluster")
		topic := onlyID(t, s.templates[stack], "AWS::SNS::Topic", "RunnerAlarmTopic")
		check(t, stack+": failure rule", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
					"source":      []any{"aws.ecs"},
					"detail-type": []any{"ECS Task State Change"},
					"detail": map[string]any{
						"clusterArn": []any{arn(cluster)},
						"lastStatus": []any{"STOPPED"},
						"$or": []any{
							map[string]any{"containers": map[string]any{"exitCode": []any{map[string]any{"anything-but": 0}}}},
							map[string]any{"stopCode": []any{"TaskFailedToStart"}},
						},
					},
				}),
				"State":   "ENABLED",
				"Targets": []any{map[string]any{"Arn": ref(topic), "Id": "Target0"}},
			})
		})
		check(t, stack+": EventBridge may publish, over TLS only", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
				"Topics": []any{ref(topic)},
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{
						"Effect": "Deny", "Action": "sns:Publish",
						"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					}),
					assertions.Match_ObjectLike(&map[string]any{
						"Effect": "Allow", "Action": "sns:Publish",
						"Principal": map[string]any{"Service": "events.amazonaws.com"},
					}),
				})},
			})
		})
	}
	check(t, "full: email subscription", func() {
		s.template(fullStack).HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email",
			"Endpoint": "ops@example.com",
		})
	})
	check(t, "minimal: no subscription without AlarmEmail", func() {
		s.template(minimalStack).ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	})
}

func TestMemberRoleStack(t *testing.T) {
	s := synth(t)
	tmpl := s.template(memberStack)
	check(t, "member role", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(1))
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"RoleName": "SpoutQueryRole",
			"AssumeRolePolicyDocument": assertions.Match_ObjectEquals(&map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Action":    "sts:AssumeRole",
					"Effect":    "Allow",
					"Principal": map[string]any{"AWS": ref("RunnerRoleArn")},
				}},
			}),
			"ManagedPolicyArns": []any{join("arn:", partition, ":iam::aws:policy/job-function/ViewOnlyAccess")},
			"Policies":          assertions.Match_Absent(),
		})
		tmpl.HasParameter(jsii.String("RunnerRoleArn"), map[string]any{"Type": "String"})
	})
	// The template must deploy in an account that was never bootstrapped.
	if _, ok := s.templates[memberStack]["Rules"]; ok {
		t.Error("member template has Rules (a bootstrap version check?)")
	}
	if _, ok := s.templates[memberStack]["Parameters"].(map[string]any)["BootstrapVersion"]; ok {
		t.Error("member template has a BootstrapVersion parameter")
	}
}

func TestAwsSolutionsChecks(t *testing.T) {
	s := synth(t)
	for _, stack := range []string{fullStack, minimalStack, memberStack, scaledStack} {
		// The pack's own report proves it ran; its suppressed rows are the ones below.
		report, err := os.ReadFile(filepath.Join(s.dir, "AwsSolutions--"+stack+"-NagReport.csv"))
		if err != nil || !strings.Contains(string(report), `"Suppressed"`) {
			t.Errorf("%s: no cdk-nag report with suppressed findings: %v", stack, err)
		}
		for _, m := range s.messages[stack] {
			if m.Level == "error" || strings.Contains(m.Text, "AwsSolutions-") && m.Level == "warning" {
				t.Errorf("%s: %s %s: %s", stack, m.Level, m.Path, m.Text)
			}
		}
		// Every suppression says why.
		for id, r := range s.templates[stack]["Resources"].(map[string]any) {
			meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := meta["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				reason, _ := rule.(map[string]any)["reason"].(string)
				if len(reason) < 40 {
					t.Errorf("%s: %s suppresses %v with reason %q", stack, id, rule.(map[string]any)["id"], reason)
				}
			}
		}
	}
}

func TestConfigWarningsAreAnnotations(t *testing.T) {
	s := synth(t)
	var found bool
	for _, m := range s.messages[minimalStack] {
		if m.Level == "warning" && strings.Contains(m.Text, `query "ad_hoc" has no schedule group`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for the unscheduled query; messages: %v", s.messages[minimalStack])
	}
}
