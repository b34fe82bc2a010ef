package format

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/spoutdev/spout/sink"
)

// parquetRowGroup is how many rows are buffered before they are written as one row
// group. It bounds the encoder's memory: about this many rows at a time.
const parquetRowGroup = 64 * 1024

// parquetEncoder writes typed columns (text → string, jsonb → string with the JSON
// logical type, timestamptz → timestamp(µs, UTC), bigint → int64, double → double,
// boolean → boolean), all nullable, Snappy-compressed.
type parquetEncoder struct {
	cols []sink.Column
	w    *errWriter
	fw   *pqarrow.FileWriter
	rb   *array.RecordBuilder
	n    int
}

func newParquet(w io.Writer, cols []sink.Column) (*parquetEncoder, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t, err := arrowType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("parquet: column %q: %w", c.Name, err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroup),
	)
	ew := &errWriter{w: w}
	fw, err := pqarrow.NewFileWriter(schema, ew, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetEncoder{cols: cols, w: ew, fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, schema)}, nil
}

func arrowType(t string) (arrow.DataType, error) {
	switch t {
	case sink.TypeText, "":
		return arrow.BinaryTypes.String, nil
	case sink.TypeJSONB:
		return extensions.NewJSONType(arrow.BinaryTypes.String)
	case sink.TypeTimestamptz:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case sink.TypeBigint:
		return arrow.PrimitiveTypes.Int64, nil
	case sink.TypeDouble:
		return arrow.PrimitiveTypes.Float64, nil
	case sink.TypeBoolean:
		return arrow.FixedWidthTypes.Boolean, nil
	}
	return nil, fmt.Errorf("unknown column type %q", t)
}

func (e *parquetEncoder) Encode(rows []sink.Row) error {
	for _, row := range rows {
		for i, c := range e.cols {
			var v any
			if i < len(row) {
				v = row[i]
			}
			if err := appendArrow(e.rb.Field(i), v); err != nil {
				return fmt.Errorf("parquet: column %q: %w", c.Name, err)
			}
		}
		if e.n++; e.n == parquetRowGroup {
			if err := e.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *parquetEncoder) flush() error {
	if e.n == 0 {
		return nil
	}
	rec := e.rb.NewRecordBatch()
	defer rec.Release()
	e.n = 0
	if err := e.fw.Write(rec); err != nil {
		return fmt.Errorf("parquet: write row group: %w", err)
	}
	return e.w.err
}

func (e *parquetEncoder) Close() error {
	if e.rb == nil {
		return nil
	}
	defer func() { e.rb.Release(); e.rb = nil }()
	if err := e.flush(); err != nil {
		return err
	}
	// FileWriter.Close drops write errors, so errWriter remembers them.
	if err := e.fw.Close(); err != nil {
		return fmt.Errorf("parquet: close: %w", err)
	}
	if e.w.err != nil {
		return fmt.Errorf("parquet: close: %w", e.w.err)
	}
	return nil
}

func appendArrow(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		s, _ := sink.Text(v)
		b.Append(s)
	case *array.ExtensionBuilder: // jsonb
		s, _ := sink.Text(v)
		if _, ok := v.(json.RawMessage); !ok {
			// A non-JSON value in a jsonb column: store it as a JSON string.
			s = string(sink.AppendJSONValue(nil, v))
		}
		b.StorageBuilder().(*array.StringBuilder).Append(s)
	case *array.Int64Builder:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.Float64Builder:
		f, err := toFloat64(v)
		if err != nil {
			return err
		}
		b.Append(f)
	case *array.BooleanBuilder:
		t, ok := v.(bool)
		if !ok {
			return fmt.Errorf("cannot store %T as boolean", v)
		}
		b.Append(t)
	case *array.TimestampBuilder:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("cannot store %T as timestamp", v)
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
	default:
		return fmt.Errorf("no encoding for %T", b)
	}
	return nil
}

func toInt64(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return int64(v), nil
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("cannot store %T %v as bigint", v, v)
}

func toFloat64(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case int:
		return float64(v), nil
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("cannot store %T %v as double", v, v)
}

// errWriter keeps the first write error, and hides any Close method of w so that the
// parquet writer cannot close it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
