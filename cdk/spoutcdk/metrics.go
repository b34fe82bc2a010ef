package spoutcdk

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CloudWatch's limits on a metric alarm: a period of at most a day, and a window (period
// × evaluation periods) of at most 7 days, or 1 day when the period is under an hour.
const (
	maxAlarmPeriod       = 24 * time.Hour
	maxAlarmWindow       = 7 * 24 * time.Hour
	maxShortAlarmWindow  = 24 * time.Hour
	shortAlarmPeriod     = time.Hour
	defaultCronPeriod    = 24 * time.Hour
	runSucceededMetric   = "RunSucceeded"
	queriesFailedMetric  = "QueriesFailed"
	scheduleDimension    = "Schedule"
	missedRunsToAlarm    = 2
	metricsFormatEMF     = "emf"
	alarmDescriptionHead = "Spout schedule group "
)

// ScheduleAlarms are the two alarms of one schedule group.
type ScheduleAlarms struct {
	// QueriesFailed fires when a run of the group reports a failed query.
	QueriesFailed awscloudwatch.Alarm
	// NoSuccessfulRun fires when the group had no successful run in two schedule periods
	// (or in the longest window CloudWatch allows).
	NoSuccessfulRun awscloudwatch.Alarm
}

// alarmWindow is how a group's "no successful run" alarm looks at RunSucceeded.
type alarmWindow struct {
	period      time.Duration
	evaluations int
	shortened   bool // the window is shorter than missedRunsToAlarm schedule periods
}

func (w alarmWindow) window() time.Duration { return time.Duration(w.evaluations) * w.period }

// humanDuration writes whole days, hours or minutes the way a schedule states them.
func humanDuration(d time.Duration) string {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d%u.size == 0 {
			n := int(d / u.size)
			if n == 1 {
				return "1 " + u.name
			}
			return strconv.Itoa(n) + " " + u.name + "s"
		}
	}
	return d.String()
}

// windowFor fits missedRunsToAlarm schedule periods into CloudWatch's limits: the
// schedule period itself while it is at most a day, else 1-day periods, and never more
// than a 7-day window.
func windowFor(schedulePeriod time.Duration) alarmWindow {
	period := min(schedulePeriod, maxAlarmPeriod)
	// Alarm periods are whole minutes (apart from high-resolution ones).
	period = (period + time.Minute - 1) / time.Minute * time.Minute
	want := time.Duration(missedRunsToAlarm) * schedulePeriod
	evaluations := int((want + period - 1) / period)
	limit := maxAlarmWindow
	if period < shortAlarmPeriod {
		limit = maxShortAlarmWindow
	}
	w := alarmWindow{period: period, evaluations: evaluations}
	if w.window() > limit {
		w.evaluations = int(limit / period)
		w.shortened = true
	}
	return w
}

// schedulePeriod is how often a group runs: its rate, or for a cron expression the
// CronPeriods entry or a day.
func schedulePeriod(s schedule, cronPeriods map[string]time.Duration) (time.Duration, error) {
	if rest, ok := strings.CutPrefix(s.expression, "rate("); ok {
		if _, set := cronPeriods[s.group]; set {
			return 0, propErrorf("CronPeriods", "%s: the group's schedule is %s, whose period is its rate; remove the entry", s.group, s.expression)
		}
		return parseRate(strings.TrimSuffix(rest, ")"))
	}
	if d, ok := cronPeriods[s.group]; ok {
		return d, nil
	}
	return defaultCronPeriod, nil
}

// parseRate reads the inside of an EventBridge rate expression, e.g. "5 minutes".
func parseRate(text string) (time.Duration, error) {
	fields := strings.Fields(text)
	if len(fields) != 2 {
		return 0, propErrorf("Config", "rate(%s): want rate(<number> minute[s]|hour[s]|day[s])", text)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return 0, propErrorf("Config", "rate(%s): %q is not a positive whole number", text, fields[0])
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit, ok := units[strings.TrimSuffix(fields[1], "s")]
	if !ok {
		return 0, propErrorf("Config", "rate(%s): the unit must be minute(s), hour(s) or day(s)", text)
	}
	return time.Duration(n) * unit, nil
}

// checkCronPeriods refuses an entry for a group the config does not define, which would
// otherwise be a silent typo.
func checkCronPeriods(cronPeriods map[string]time.Duration, schedules []schedule) error {
	for _, group := range slices.Sorted(maps.Keys(cronPeriods)) {
		if !slices.ContainsFunc(schedules, func(s schedule) bool { return s.group == group }) {
			return propErrorf("CronPeriods", "%s is not a schedule group in Config", group)
		}
	}
	return nil
}

// metricsEnvironment is what turns on the runner's EMF output.
func metricsEnvironment(namespace string) map[string]*string {
	return map[string]*string{
		metricsEnv:          jsii.String(metricsFormatEMF),
		metricsNamespaceEnv: jsii.String(namespace),
	}
}

func scheduleMetric(namespace, name, group string, period time.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{scheduleDimension: jsii.String(group)},
		Statistic:     jsii.String("Sum"),
		Period:        awscdk.Duration_Seconds(jsii.Number(period.Seconds())),
	})
}

// newScheduleAlarms defines a group's alarms and sends them to topic.
func newScheduleAlarms(c constructs.Construct, topic awssns.ITopic, namespace string, s schedule, every time.Duration) ScheduleAlarms {
	w := windowFor(every)
	if w.shortened {
		awscdk.Annotations_Of(c).AddWarningV2(jsii.String("spout:alarms"), jsii.String(fmt.Sprintf(
			"schedule group %q runs every %s; a CloudWatch alarm looks back at most %s, so its no-successful-run alarm fires after one missed run, not two",
			s.group, humanDuration(every), humanDuration(w.window()))))
	}
	action := awscloudwatchactions.NewSnsAction(topic)

	failed := awscloudwatch.NewAlarm(c, jsii.String("QueriesFailedAlarm-"+s.group), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(alarmDescriptionHead + s.group + ": a run reported failed queries"),
		Metric:             scheduleMetric(namespace, queriesFailedMetric, s.group, w.period),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		// No run means no failed query; the other alarm covers runs that never happen.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	failed.AddAlarmAction(action)

	stale := awscloudwatch.NewAlarm(c, jsii.String("NoSuccessfulRunAlarm-"+s.group), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("%s%s: no successful run in %s (schedule %s)",
			alarmDescriptionHead, s.group, humanDuration(w.window()), s.expression)),
		Metric:             scheduleMetric(namespace, runSucceededMetric, s.group, w.period),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		Threshold:          jsii.Number(1),
		// Every period of the window must lack a success: one good run clears it.
		EvaluationPeriods: jsii.Number(float64(w.evaluations)),
		DatapointsToAlarm: jsii.Number(float64(w.evaluations)),
		// A run that never started or died before writing its metrics leaves no data.
		TreatMissingData: awscloudwatch.TreatMissingData_BREACHING,
	})
	stale.AddAlarmAction(action)
	return ScheduleAlarms{QueriesFailed: failed, NoSuccessfulRun: stale}
}

// allowAlarmPublishing lets this account's CloudWatch alarms publish to the topic: the
// topic has a resource policy (for EventBridge), which replaces SNS's default policy.
func allowAlarmPublishing(topic awssns.Topic) {
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{
			"ArnLike": map[string]any{
				"aws:SourceArn": fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID()),
			},
			"StringEquals": map[string]any{"aws:SourceAccount": *awscdk.Aws_ACCOUNT_ID()},
		},
	}))
}
