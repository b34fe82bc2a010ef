package spoutcdk

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// containerOf returns the first container definition of a task definition.
func containerOf(tmpl map[string]any, taskDef string) map[string]any {
	return properties(tmpl, taskDef)["ContainerDefinitions"].([]any)[0].(map[string]any)
}

func envOf(container map[string]any) map[string]any {
	env := map[string]any{}
	for _, e := range container["Environment"].([]any) {
		env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
	}
	return env
}

func TestStopTimeoutAndGrace(t *testing.T) {
	s := synth(t)
	want := map[string]struct {
		timeout float64
		grace   string
	}{
		fullStack:    {30, "25s"},    // the defaults
		minimalStack: {120, "1m55s"}, // Fargate's maximum
		scaledStack:  {60, "50s"},    // Environment's own SPOUT_STOP_GRACE wins
	}
	for stack, w := range want {
		tmpl := s.templates[stack]
		for _, id := range resourcesOfType(tmpl, "AWS::ECS::TaskDefinition") {
			c := containerOf(tmpl, id)
			if c["StopTimeout"] != w.timeout || envOf(c)["SPOUT_STOP_GRACE"] != w.grace {
				t.Errorf("%s %s: StopTimeout %v, SPOUT_STOP_GRACE %v; want %v, %q", stack, id, c["StopTimeout"], envOf(c)["SPOUT_STOP_GRACE"], w.timeout, w.grace)
			}
		}
	}
}

func TestMetricsEnvironmentAndAlarms(t *testing.T) {
	s := synth(t)
	type alarm struct {
		period, evaluations float64
	}
	want := map[string]struct {
		namespace string
		stale     map[string]alarm // group -> the no-successful-run alarm's window
	}{
		// hourly is rate(1 hour); daily is a cron group without CronPeriods: a day.
		fullStack: {"Spout", map[string]alarm{"hourly": {3600, 2}, "daily": {86400, 2}}},
		// inventory is rate(6 hours); weekly's 7 days cannot be doubled within 7 days.
		scaledStack: {"Inventory/Spout", map[string]alarm{"inventory": {21600, 2}, "weekly": {86400, 7}}},
	}
	for stack, w := range want {
		tmpl := s.template(stack)
		topic := ref(onlyID(t, s.templates[stack], "AWS::SNS::Topic", "RunnerAlarmTopic"))
		for _, id := range resourcesOfType(s.templates[stack], "AWS::ECS::TaskDefinition") {
			if strings.Contains(id, "Serve") {
				continue
			}
			env := envOf(containerOf(s.templates[stack], id))
			if env["SPOUT_METRICS"] != "emf" || env["SPOUT_METRICS_NAMESPACE"] != w.namespace {
				t.Errorf("%s %s: metrics environment %v", stack, id, env)
			}
		}
		check(t, stack+": alarm count", func() {
			tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(float64(2*len(w.stale))))
		})
		for group, a := range w.stale {
			dims := []any{map[string]any{"Name": "Schedule", "Value": group}}
			check(t, stack+" "+group+": queries failed alarm", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": w.namespace, "MetricName": "QueriesFailed", "Dimensions": dims,
					"Statistic": "Sum", "Period": a.period, "EvaluationPeriods": 1,
					"ComparisonOperator": "GreaterThanThreshold", "Threshold": 0,
					"TreatMissingData": "notBreaching", "AlarmActions": []any{topic},
				})
			})
			check(t, stack+" "+group+": no successful run alarm", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": w.namespace, "MetricName": "RunSucceeded", "Dimensions": dims,
					"Statistic": "Sum", "Period": a.period, "EvaluationPeriods": a.evaluations, "DatapointsToAlarm": a.evaluations,
					"ComparisonOperator": "LessThanThreshold", "Threshold": 1,
					"TreatMissingData": "breaching", "AlarmActions": []any{topic},
				})
			})
		}
		check(t, stack+": CloudWatch may publish alarms to the topic", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{
						"Effect": "Allow", "Action": "sns:Publish",
						"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
						"Condition": assertions.Match_ObjectLike(&map[string]any{
							"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
						}),
					}),
				})},
			})
		})
	}

	check(t, "minimal: DisableMetrics leaves no alarms", func() {
		s.template(minimalStack).ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(0))
	})
	env := envOf(containerOf(s.templates[minimalStack], resourcesOfType(s.templates[minimalStack], "AWS::ECS::TaskDefinition")[0]))
	if _, ok := env["SPOUT_METRICS"]; ok {
		t.Errorf("minimal: SPOUT_METRICS set with DisableMetrics: %v", env)
	}

	var warned bool
	for _, m := range s.messages[scaledStack] {
		warned = warned || m.Level == "warning" && strings.Contains(m.Text, `schedule group "weekly" runs every 7 days`)
	}
	if !warned {
		t.Errorf("no warning that weekly's alarm window is shortened: %v", s.messages[scaledStack])
	}
}

func TestWindowFor(t *testing.T) {
	for every, want := range map[time.Duration]alarmWindow{
		5 * time.Minute:     {period: 5 * time.Minute, evaluations: 2},
		90 * time.Second:    {period: 2 * time.Minute, evaluations: 2}, // whole minutes
		24 * time.Hour:      {period: 24 * time.Hour, evaluations: 2},
		3 * 24 * time.Hour:  {period: 24 * time.Hour, evaluations: 6},
		84 * time.Hour:      {period: 24 * time.Hour, evaluations: 7},
		4 * 24 * time.Hour:  {period: 24 * time.Hour, evaluations: 7, shortened: true},
		30 * 24 * time.Hour: {period: 24 * time.Hour, evaluations: 7, shortened: true},
	} {
		got := windowFor(every)
		if got != want {
			t.Errorf("%v: got %+v, want %+v", every, got, want)
		}
		limit := maxAlarmWindow
		if got.period < time.Hour {
			limit = maxShortAlarmWindow
		}
		if got.period > maxAlarmPeriod || got.window() > limit {
			t.Errorf("%v: %+v is outside CloudWatch's limits", every, got)
		}
	}
}

func TestSchedulePeriod(t *testing.T) {
	cron := map[string]time.Duration{"weekly": 7 * 24 * time.Hour}
	for _, tt := range []struct {
		s    schedule
		want time.Duration
		err  string
	}{
		{schedule{"a", "rate(1 minute)"}, time.Minute, ""},
		{schedule{"a", "rate(15 minutes)"}, 15 * time.Minute, ""},
		{schedule{"a", "rate(2 hours)"}, 2 * time.Hour, ""},
		{schedule{"a", "rate(1 day)"}, 24 * time.Hour, ""},
		{schedule{"a", "cron(0 6 * * ? *)"}, 24 * time.Hour, ""},
		{schedule{"weekly", "cron(0 3 ? * MON *)"}, 7 * 24 * time.Hour, ""},
		{schedule{"weekly", "rate(7 days)"}, 0, "whose period is its rate"},
		{schedule{"a", "rate(0 hours)"}, 0, "not a positive whole number"},
		{schedule{"a", "rate(1 week)"}, 0, "minute(s), hour(s) or day(s)"},
		{schedule{"a", "rate(hourly)"}, 0, "want rate(<number>"},
	} {
		got, err := schedulePeriod(tt.s, cron)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: got %v, %v; want an error containing %q", tt.s, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: got %v, %v; want %v", tt.s, got, err, tt.want)
		}
	}
}

func TestServe(t *testing.T) {
	s := synth(t)
	tmpl := s.template(scaledStack)
	raw := s.templates[scaledStack]
	lbGroup := onlyID(t, raw, "AWS::EC2::SecurityGroup", "RunnerServeLoadBalancerSecurityGroup")
	taskGroup := onlyID(t, raw, "AWS::EC2::SecurityGroup", "RunnerServeTaskSecurityGroup")
	taskDef := onlyID(t, raw, "AWS::ECS::TaskDefinition", "RunnerServeTaskDef")

	check(t, "internal NLB in the private subnets, TCP listener and health check", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), map[string]any{
			"Type": "network", "Scheme": "internal",
			"SecurityGroups": []any{map[string]any{"Fn::GetAtt": getAtt(lbGroup, "GroupId")}},
		})
		tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
			"Port": 9193, "Protocol": "TCP",
		})
		tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
			"Port": 9193, "Protocol": "TCP", "TargetType": "ip",
			"HealthCheckProtocol": "TCP", "HealthCheckPort": "9193",
		})
	})
	check(t, "only the peer reaches the load balancer, only on the port", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
			"GroupDescription": assertions.Match_StringLikeRegexp(jsii.String("^Spout serve load balancer")),
			"SecurityGroupIngress": assertions.Match_Exact([]any{map[string]any{
				"CidrIp": "10.20.0.0/16", "IpProtocol": "tcp", "FromPort": 9193, "ToPort": 9193,
				"Description": "Spout serve clients",
			}}),
		})
	})
	// Every ingress rule in the stack: the tasks admit only the load balancer's group.
	var ingress []any
	for _, id := range resourcesOfType(raw, "AWS::EC2::SecurityGroupIngress") {
		ingress = append(ingress, properties(raw, id))
	}
	matches(t, "task ingress", assertions.Match_Exact([]any{map[string]any{
		"GroupId":               map[string]any{"Fn::GetAtt": getAtt(taskGroup, "GroupId")},
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": getAtt(lbGroup, "GroupId")},
		"IpProtocol":            "tcp", "FromPort": 9193, "ToPort": 9193,
		"Description": "Spout serve load balancer",
	}}), ingress)

	check(t, "service: ARM64 Fargate in private subnets without public IP", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), map[string]any{
			"LaunchType":     "FARGATE",
			"DesiredCount":   2,
			"TaskDefinition": ref(taskDef),
			"NetworkConfiguration": map[string]any{"AwsvpcConfiguration": map[string]any{
				"AssignPublicIp": "DISABLED",
				"SecurityGroups": []any{map[string]any{"Fn::GetAtt": getAtt(taskGroup, "GroupId")}},
				"Subnets":        assertions.Match_AnyValue(),
			}},
			"LoadBalancers": []any{assertions.Match_ObjectLike(&map[string]any{"ContainerName": "spout-serve", "ContainerPort": 9193})},
		})
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
			"RuntimePlatform": map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
			"Cpu":             "512", "Memory": "1024",
			"TaskRoleArn":      arn(onlyID(t, raw, "AWS::IAM::Role", "RunnerTaskRole")),
			"ExecutionRoleArn": arn(onlyID(t, raw, "AWS::IAM::Role", "RunnerExecutionRole")),
		})
	})
	// The runner's subnets are the service's.
	service := properties(raw, onlyID(t, raw, "AWS::ECS::Service", "RunnerServeService"))
	lb := properties(raw, onlyID(t, raw, "AWS::ElasticLoadBalancingV2::LoadBalancer", "RunnerServeLoadBalancer"))
	subnets := service["NetworkConfiguration"].(map[string]any)["AwsvpcConfiguration"].(map[string]any)["Subnets"]
	if !reflect.DeepEqual(subnets, lb["Subnets"]) || !strings.Contains(fmt.Sprint(subnets), "RunnerVpctasks") {
		t.Errorf("service subnets %v, load balancer subnets %v: want the private task subnets", subnets, lb["Subnets"])
	}

	c := containerOf(raw, taskDef)
	secretArn := func(name, field string) any {
		return join("arn:", partition, ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":secret:"+name+":"+field+"::")
	}
	matches(t, "serve container", assertions.Match_ObjectLike(&map[string]any{
		"EntryPoint":   []any{"/spout"},
		"Command":      []any{"serve", "--listen", ":9193"},
		"PortMappings": []any{map[string]any{"ContainerPort": 9193, "Protocol": "tcp"}},
		"Secrets": []any{
			map[string]any{"Name": "SPOUT_SERVE_PASSWORD", "ValueFrom": secretArn("spout/serve", "password")},
			map[string]any{"Name": "SPOUT_SERVE_TLS_CERT", "ValueFrom": secretArn("spout/serve-tls", "cert")},
			map[string]any{"Name": "SPOUT_SERVE_TLS_KEY", "ValueFrom": secretArn("spout/serve-tls", "key")},
		},
		"LogConfiguration": assertions.Match_ObjectLike(&map[string]any{
			"Options": assertions.Match_ObjectLike(&map[string]any{
				"awslogs-group": ref(onlyID(t, raw, "AWS::Logs::LogGroup", "RunnerServeLogs")),
			}),
		}),
	}), c)
	env := envOf(c)
	for _, secret := range []string{"SPOUT_SERVE_PASSWORD", "SPOUT_SERVE_TLS_CERT", "SPOUT_SERVE_TLS_KEY"} {
		if _, ok := env[secret]; ok {
			t.Errorf("%s is plain environment", secret)
		}
	}
	if env["SPOUT_CONFIG_YAML"] == nil || env["GOMEMLIMIT"] != "716MiB" {
		t.Errorf("serve environment %v: want the config and 70%% of 1024 MiB", env)
	}
	if _, ok := env["SPOUT_METRICS"]; ok {
		t.Errorf("serve gets the runner's metrics settings: %v", env)
	}

	for _, stack := range []string{fullStack, minimalStack} {
		if r := s.runners[stack]; r.Service != nil || r.LoadBalancer != nil {
			t.Errorf("%s: a service without Serve", stack)
		}
	}
	if r := s.runners[scaledStack]; r.Service == nil || r.LoadBalancer == nil || r.ServeLogGroup == nil {
		t.Error("scaled: Service, LoadBalancer or ServeLogGroup not exposed")
	}
}

// definitionString joins a state machine's DefinitionString, with each token written as
// its JSON, so it can be searched as text.
func definitionString(t *testing.T, tmpl map[string]any, id string) string {
	t.Helper()
	def := properties(tmpl, id)["DefinitionString"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
	var b strings.Builder
	for _, part := range def {
		if str, ok := part.(string); ok {
			b.WriteString(str)
			continue
		}
		j, _ := json.Marshal(part)
		b.Write(j)
	}
	return b.String()
}

func TestShardedRuns(t *testing.T) {
	s := synth(t)
	raw := s.templates[scaledStack]
	tmpl := s.template(scaledStack)
	machines := resourcesOfType(raw, "AWS::StepFunctions::StateMachine")
	if len(machines) != 2 {
		t.Fatalf("want a state machine per group, got %v", machines)
	}
	for _, group := range []string{"inventory", "weekly"} {
		id := onlyID(t, raw, "AWS::StepFunctions::StateMachine", "RunnerShards"+group)
		def := definitionString(t, raw, id)
		for _, want := range []string{
			`"Result":[1,2,3,4]`,
			`"Type":"Map"`,
			`"MaxConcurrency":4`,
			`"ItemSelector":{"shard.$":"$$.Map.Item.Value"}`,
			`:states:::ecs:runTask.sync"`,
			`"LaunchType":"FARGATE"`,
			`"Name":"SPOUT_SHARD","Value.$":"States.Format('{}/4', $.shard)"`,
			`"AssignPublicIp"`, // only as DISABLED, checked below
			`"Variable":"$.containers[0].ExitCode","NumericEquals":0`,
			`"ErrorEquals":["States.ALL"],"Next":"ShardFailed"`,
			`"States.ArrayContains($, 'failed')"`,
			`"Type":"Fail","Error":"Spout.ShardsFailed"`,
		} {
			if want == `"AssignPublicIp"` {
				if strings.Contains(def, want) && !strings.Contains(def, `"AssignPublicIp":"DISABLED"`) {
					t.Errorf("%s: a public IP in %s", group, def)
				}
				continue
			}
			if !strings.Contains(def, want) {
				t.Errorf("%s: definition lacks %s:\n%s", group, want, def)
			}
		}
		// The shard runs the group's own task definition, whose command is unchanged.
		taskDef := taskDefinitionFor(t, raw, group)
		if c := containerOf(raw, taskDef); fmt.Sprint(c["Command"]) != fmt.Sprint([]any{"--schedule", group}) {
			t.Errorf("%s: command %v", group, c["Command"])
		}
		check(t, group+": logging and tracing", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
				"LoggingConfiguration": map[string]any{
					"Level": "ALL", "IncludeExecutionData": true,
					"Destinations": []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{
						"LogGroupArn": arn(onlyID(t, raw, "AWS::Logs::LogGroup", "RunnerShardLogs")),
					}}},
				},
				"TracingConfiguration": map[string]any{"Enabled": true},
			})
		})
		check(t, group+": the schedule starts the state machine", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"ScheduleExpression": map[string]string{"inventory": "rate(6 hours)", "weekly": "cron(0 3 ? * MON *)"}[group],
				"Targets":            []any{assertions.Match_ObjectLike(&map[string]any{"Arn": ref(id)})},
			})
		})
		check(t, group+": PassRole only on the task and execution roles", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
					"Effect": "Allow", "Action": "iam:PassRole",
					"Resource": []any{
						arn(onlyID(t, raw, "AWS::IAM::Role", "RunnerTaskRole")),
						arn(onlyID(t, raw, "AWS::IAM::Role", "RunnerExecutionRole")),
					},
				}})},
			})
		})
	}
	// No scheduled ECS targets: every scheduled rule starts a state machine.
	for _, rule := range scheduledRules(raw) {
		for _, target := range properties(raw, rule)["Targets"].([]any) {
			if _, ecs := target.(map[string]any)["EcsParameters"]; ecs {
				t.Errorf("%s still runs an ECS task directly", rule)
			}
		}
	}
	check(t, "failed executions reach the alarm topic", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.states"},
				"detail-type": []any{"Step Functions Execution Status Change"},
				"detail": map[string]any{
					"status":          []any{"FAILED", "TIMED_OUT", "ABORTED"},
					"stateMachineArn": []any{ref(machines[0]), ref(machines[1])},
				},
			}),
			"Targets": []any{map[string]any{"Arn": ref(onlyID(t, raw, "AWS::SNS::Topic", "RunnerAlarmTopic")), "Id": "Target0"}},
		})
	})
	if got := len(s.runners[scaledStack].StateMachines); got != 2 || len(s.runners[scaledStack].Tasks) != 0 {
		t.Errorf("scaled: %d state machines, %d scheduled tasks", got, len(s.runners[scaledStack].Tasks))
	}
}

// TestOneShardIsTheDefault proves Shards 1 deploys exactly what no Shards prop does: the
// same stack, synthesized in two apps, once with each.
func TestOneShardIsTheDefault(t *testing.T) {
	templates := map[int]any{}
	for _, shards := range []int{0, 1} {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
		stack := awscdk.NewStack(app, jsii.String("Spout"), nil)
		props := validProps()
		props.Shards = shards
		if _, err := NewQueryRunner(stack, "Runner", &props); err != nil {
			t.Fatal(err)
		}
		templates[shards] = *assertions.Template_FromStack(stack, nil).ToJSON()
	}
	if !reflect.DeepEqual(templates[0], templates[1]) {
		a, _ := json.MarshalIndent(templates[0], "", "  ")
		b, _ := json.MarshalIndent(templates[1], "", "  ")
		t.Errorf("Shards 1 changes the template:\n%s", firstDifference(string(a), string(b)))
	}
	if strings.Contains(fmt.Sprint(templates[1]), "AWS::StepFunctions::StateMachine") {
		t.Error("Shards 1 made a state machine")
	}
}
