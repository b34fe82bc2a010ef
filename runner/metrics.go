package runner

import (
	"fmt"
	"io"

	"github.com/spoutdev/spout/internal/emf"
)

// Metric and dimension names. The CDK stack's alarms read RunSucceeded and QueriesFailed
// by Schedule, so these names are a contract with cdk/spoutcdk/metrics.go.
const (
	MetricRunSucceeded     = "RunSucceeded"
	MetricQueriesFailed    = "QueriesFailed"
	MetricRunDuration      = "RunDuration"
	MetricRows             = "Rows"
	MetricQueryDuration    = "QueryDuration"
	MetricQueryFailed      = "QueryFailed"
	MetricConnectionErrors = "ConnectionErrors"

	DimensionSchedule = "Schedule"
	DimensionQuery    = "Query"

	// AllSchedules is the Schedule dimension of a run not limited to one schedule
	// group: CloudWatch refuses an empty dimension value.
	AllSchedules = "all"
)

// WriteMetrics writes m as CloudWatch Embedded Metric Format lines to w, in namespace:
// one record for the run and one per query. awslogs ships stdout unchanged, and
// CloudWatch Logs turns the records into metrics, so no agent runs beside the task.
//
// A run counts as succeeded only with status ok. A query counts as failed unless its
// status is ok, so a partial result (some connection failed) raises QueriesFailed.
func WriteMetrics(w io.Writer, namespace string, m *Manifest) error {
	out := emf.New(w, namespace)
	schedule := m.Schedule
	if schedule == "" {
		schedule = AllSchedules
	}
	var failed float64
	for _, q := range m.Queries {
		if q.Status != StatusOK {
			failed++
		}
	}
	props := map[string]any{"run_id": m.RunID, "status": m.Status}
	if m.Shard != "" {
		// A property, not a dimension: the alarms sum a schedule's shards.
		props["shard"] = m.Shard
	}
	err := out.Write(map[string]string{DimensionSchedule: schedule}, []emf.Metric{
		{Name: MetricRunSucceeded, Unit: emf.Count, Value: b2f(m.Status == StatusOK)},
		{Name: MetricQueriesFailed, Unit: emf.Count, Value: failed},
		{Name: MetricRunDuration, Unit: emf.Seconds, Value: m.FinishedAt.Sub(m.StartedAt).Seconds()},
	}, props)
	if err != nil {
		return fmt.Errorf("writing the run's metrics: %w", err)
	}
	for _, q := range m.Queries {
		var connErrs float64
		for _, c := range q.Connections {
			if c.Error != "" {
				connErrs++
			}
		}
		err := out.Write(map[string]string{DimensionSchedule: schedule, DimensionQuery: q.Name}, []emf.Metric{
			{Name: MetricRows, Unit: emf.Count, Value: float64(q.Rows)},
			{Name: MetricQueryDuration, Unit: emf.Seconds, Value: float64(q.DurationMS) / 1000},
			{Name: MetricQueryFailed, Unit: emf.Count, Value: b2f(q.Status != StatusOK)},
			{Name: MetricConnectionErrors, Unit: emf.Count, Value: connErrs},
		}, queryProps(m, q))
		if err != nil {
			return fmt.Errorf("writing query %s's metrics: %w", q.Name, err)
		}
	}
	return nil
}

func queryProps(m *Manifest, q QueryResult) map[string]any {
	props := map[string]any{"run_id": m.RunID, "status": q.Status}
	if m.Shard != "" {
		props["shard"] = m.Shard
	}
	return props
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
