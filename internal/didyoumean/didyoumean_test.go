package didyoumean

import "testing"

func TestHint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		known []string
		want  string
	}{
		{"conections", []string{"connections", "organization", "sinks"}, ` (did you mean "connections"?)`},
		{"regoin", []string{"region", "account_id", "arn"}, ` (did you mean "region"?)`},
		{"s3_bucket", []string{"aws_s3_bucket", "aws_ec2_instance"}, ` (did you mean "aws_s3_bucket"?)`},
		{"ab", []string{"abc", "abd", "xy", "abcd", "ab_e"}, ` (did you mean "abc", "abd", "ab_e"?)`},
		{"zoë", []string{"zoe"}, ` (did you mean "zoe"?)`}, // runes, not bytes
		{"colour", []string{"path", "format", "gzip"}, ""},
		{"x", nil, ""},
	} {
		if got := Hint(tc.name, tc.known); got != tc.want {
			t.Errorf("Hint(%q, %q) = %q, want %q", tc.name, tc.known, got, tc.want)
		}
	}
}

func TestHintOrKnown(t *testing.T) {
	if got, want := HintOrKnown("colour", []string{"path", "format", "gzip"}), ` (known: path, format, gzip)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := HintOrKnown("paht", []string{"path", "mode"}), ` (did you mean "path"?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := HintOrKnown("x", nil); got != "" {
		t.Errorf("got %q for no known names", got)
	}
}
