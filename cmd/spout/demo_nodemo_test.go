//go:build nodemo

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoIsNotInANodemoBuild(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--output", "json"}, &out, &errOut); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if out.Len() > 0 || !strings.Contains(errOut.String(), "demo is not in this build") {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}
