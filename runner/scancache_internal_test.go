package runner

import "testing"

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{
		"256MB": 256e6, "1GB": 1e9, "1.5 GiB": 3 << 29, "512kib": 512 << 10, "100B": 100,
		"": 0, "lots": 0, "12": 0,
	} {
		if got := parseSize(s); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", s, got, want)
		}
	}
}
