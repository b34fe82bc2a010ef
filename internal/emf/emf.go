// Package emf writes CloudWatch Embedded Metric Format records: one JSON object per line
// whose "_aws" member tells CloudWatch Logs which of its other members are metrics. The
// awslogs driver ships stdout as is, so metrics need no agent or sidecar.
//
// The format is AWS's published specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
// this file keeps to the part Spout uses: one namespace, one dimension set per record.
package emf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

const (
	Count   Unit = "Count"
	Seconds Unit = "Seconds"
	None    Unit = "None"
)

// Limits of the specification.
const (
	maxMetrics    = 100
	maxDimensions = 30
)

// Metric is one value of a record.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Writer writes records to an io.Writer, one line each. It is safe for concurrent use;
// lines never interleave.
type Writer struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns a Writer of records in namespace.
func New(w io.Writer, namespace string) *Writer {
	return &Writer{w: w, namespace: namespace, now: time.Now}
}

// Write emits one record: metrics under the dimensions dims (all of them form the one
// dimension set), plus props as plain members, which CloudWatch Logs Insights can query
// but which are no metrics. A name used twice, or a metric name that is also a dimension
// or property, is an error: the record would be ambiguous.
func (w *Writer) Write(dims map[string]string, metrics []Metric, props map[string]any) error {
	if w.namespace == "" {
		return errors.New("emf: a namespace is required")
	}
	if len(metrics) == 0 || len(metrics) > maxMetrics {
		return fmt.Errorf("emf: a record holds 1 to %d metrics, got %d", maxMetrics, len(metrics))
	}
	if len(dims) > maxDimensions {
		return fmt.Errorf("emf: a dimension set holds at most %d dimensions, got %d", maxDimensions, len(dims))
	}
	rec := make(map[string]any, len(dims)+len(metrics)+len(props)+1)
	claim := func(name string, v any) error {
		if name == "" || name == "_aws" {
			return fmt.Errorf("emf: %q cannot be a member name", name)
		}
		if _, dup := rec[name]; dup {
			return fmt.Errorf("emf: %q is used twice in one record", name)
		}
		rec[name] = v
		return nil
	}
	dimNames := make([]string, 0, len(dims))
	for k := range dims {
		dimNames = append(dimNames, k)
	}
	slices.Sort(dimNames)
	for _, k := range dimNames {
		if err := claim(k, dims[k]); err != nil {
			return err
		}
	}
	type metricDef struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit,omitempty"`
	}
	defs := make([]metricDef, 0, len(metrics))
	for _, m := range metrics {
		if err := claim(m.Name, m.Value); err != nil {
			return err
		}
		defs = append(defs, metricDef{Name: m.Name, Unit: m.Unit})
	}
	for k, v := range props {
		if err := claim(k, v); err != nil {
			return err
		}
	}
	rec["_aws"] = map[string]any{
		"Timestamp": w.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  w.namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("emf: encoding a record: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("emf: writing a record: %w", err)
	}
	return nil
}
