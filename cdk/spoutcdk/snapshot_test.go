package spoutcdk

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden templates in testdata/ from this run")

// TestSnapshot compares each synthesized template with its golden file, so any change to
// the deployed resources shows up in review as a diff of testdata/*.template.json. The
// image asset is built from testdata/image, whose content (and so asset hash) is fixed.
//
// After an intended change: go test ./spoutcdk -run TestSnapshot -update
func TestSnapshot(t *testing.T) {
	s := synth(t)
	for _, stack := range []string{fullStack, minimalStack, memberStack, scaledStack} {
		got, err := json.MarshalIndent(s.templates[stack], "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		golden := filepath.Join("testdata", stack+".template.json")
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (create it with -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s at:\n%s\nIf the change is intended: go test ./spoutcdk -run TestSnapshot -update",
				stack, golden, firstDifference(string(want), string(got)))
		}
	}
}

// firstDifference shows the first differing line with a little context.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			from := max(0, i-3)
			return "  context:\n    " + strings.Join(g[from:i], "\n    ") +
				"\n  line " + strconv.Itoa(i+1) + "\n  - " + wl + "\n  + " + gl
		}
	}
	return "(no line differs)"
}
