package state_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/state"
)

func TestCanonicalIgnoresColumnOrder(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	a := state.Canonical(nil,
		[]sink.Column{{Name: "name", Type: sink.TypeText}, {Name: "id", Type: sink.TypeBigint}, {Name: "at", Type: sink.TypeTimestamptz}, {Name: "tags", Type: sink.TypeJSONB}},
		sink.Row{"x\ty", int64(7), at, json.RawMessage(`{"a":1}`)})
	b := state.Canonical(nil,
		[]sink.Column{{Name: "tags", Type: sink.TypeJSONB}, {Name: "at", Type: sink.TypeTimestamptz}, {Name: "id", Type: sink.TypeBigint}, {Name: "name", Type: sink.TypeText}},
		sink.Row{json.RawMessage(`{"a":1}`), at, int64(7), "x\ty"})
	want := `{"at":"2026-01-02T03:04:05.0000006Z","id":7,"name":"x\ty","tags":{"a":1}}`
	if string(a) != want || string(b) != want {
		t.Errorf("canonical JSON:\n%s\n%s\nwant\n%s", a, b, want)
	}
	if state.HashOf(a) != state.HashOf(b) {
		t.Error("equal rows hash differently")
	}
	if c := state.Canonical(nil, []sink.Column{{Name: "id", Type: sink.TypeBigint}}, sink.Row{int64(8)}); state.HashOf(c) == state.HashOf(a) {
		t.Error("different rows hash the same")
	}
}

func TestHashRoundTrip(t *testing.T) {
	h := state.HashOf([]byte("row"))
	got, err := state.ParseHash(h.String())
	if err != nil || got != h {
		t.Errorf("ParseHash(%s) = %s, %v", h, got, err)
	}
	if _, err := state.ParseHash("abc"); err == nil {
		t.Error("a short hash parsed")
	}
}

func TestKey(t *testing.T) {
	if state.Key("q", "") != "q" || state.Key("q", "2-of-4") != "q/2-of-4" {
		t.Errorf("keys: %q %q", state.Key("q", ""), state.Key("q", "2-of-4"))
	}
}
