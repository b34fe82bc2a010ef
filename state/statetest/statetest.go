// Package statetest checks that a state.Store keeps the contract the runner relies on.
// Each store's tests call Run against a real server.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/spoutdev/spout/state"
)

// Records returns n records for tests, keyed when keyed is set.
func Records(n int, keyed bool, tag string) []state.Record {
	out := make([]state.Record, n)
	for i := range out {
		row := []byte(fmt.Sprintf(`{"id":%d,"tag":%q,"text":"tab\there, \"quoted\"\nnewline"}`, i, tag))
		out[i] = state.Record{Hash: state.HashOf(row), Row: row}
		if keyed {
			out[i].Key = state.HashOf([]byte(fmt.Sprintf("[%d]", i)))
		}
	}
	return out
}

// Seq yields recs, then err if it is not nil.
func Seq(recs []state.Record, err error) iter.Seq2[state.Record, error] {
	return func(yield func(state.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			yield(state.Record{}, err)
		}
	}
}

// Load reads the snapshot under key.
func Load(t *testing.T, s state.Store, key string) ([]state.Record, bool) {
	t.Helper()
	var got []state.Record
	found, err := s.Load(context.Background(), key, func(r state.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Load(%s): %v", key, err)
	}
	return got, found
}

func sorted(recs []state.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Hash.String() + " " + r.Key.String() + " " + string(r.Row)
	}
	slices.Sort(out)
	return out
}

// Run checks s: nothing saved is not found, an empty snapshot is found, Save replaces
// the snapshot whole, keys are separate, and a Save whose records fail leaves the old
// snapshot.
func Run(t *testing.T, s state.Store) {
	ctx := context.Background()
	if got, found := Load(t, s, "never"); found || len(got) != 0 {
		t.Errorf("a key never saved: found %v, %d records", found, len(got))
	}

	if err := s.Save(ctx, "empty", Seq(nil, nil)); err != nil {
		t.Fatalf("Save(empty): %v", err)
	}
	if got, found := Load(t, s, "empty"); !found || len(got) != 0 {
		t.Errorf("an empty snapshot: found %v, %d records; want found, none", found, len(got))
	}

	first := Records(5, true, "first")
	if err := s.Save(ctx, "q", Seq(first, nil)); err != nil {
		t.Fatalf("Save: %v", err)
	}
	other := Records(2, false, "other")
	if err := s.Save(ctx, "q/shard-2", Seq(other, nil)); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if got, found := Load(t, s, "q"); !found || !slices.Equal(sorted(got), sorted(first)) {
		t.Errorf("Load = %v (found %v), want what was saved", sorted(got), found)
	}
	if got, _ := Load(t, s, "q/shard-2"); !slices.Equal(sorted(got), sorted(other)) {
		t.Errorf("another key's snapshot = %v", sorted(got))
	}

	second := Records(3, true, "second")
	if err := s.Save(ctx, "q", Seq(second, nil)); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if got, _ := Load(t, s, "q"); !slices.Equal(sorted(got), sorted(second)) {
		t.Errorf("after a second Save: %v, want only the second snapshot", sorted(got))
	}

	broken := errors.New("the spool broke")
	if err := s.Save(ctx, "q", Seq(Records(4, true, "third"), broken)); !errors.Is(err, broken) {
		t.Errorf("Save with failing records = %v, want %v", err, broken)
	}
	if got, _ := Load(t, s, "q"); !slices.Equal(sorted(got), sorted(second)) {
		t.Errorf("after a failed Save: %v, want the second snapshot untouched", sorted(got))
	}

	stop := errors.New("enough")
	n := 0
	if _, err := s.Load(ctx, "q", func(state.Record) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Load whose callback fails = %v after %d records, want %v after 1", err, n, stop)
	}
}
