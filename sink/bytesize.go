package sink

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ByteSize is a number of bytes. In YAML it is an integer or a number with a unit:
// 512KB, 4MiB, 1GB (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024).
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(node *yaml.Node) error {
	n, err := ParseByteSize(node.Value)
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// JSONSchema describes a ByteSize for the JSON Schema of spout.yaml: a number of bytes
// or a size with a unit.
func (ByteSize) JSONSchema() map[string]any {
	return map[string]any{"type": []string{"integer", "string"}}
}

// ParseByteSize parses "4194304", "4MiB" or "4 MB".
func ParseByteSize(s string) (ByteSize, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid byte size %q (want e.g. 1048576, 512KiB or 4MB)", s)
	}
	return ByteSize(n * mult), nil
}
