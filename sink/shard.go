package sink

import "strconv"

// Shard is the part of a sharded run a result comes from: shard Index of Count,
// counted from 1. The zero value is an unsharded run.
//
// A sharded run splits its accounts (connections) between Count processes; each
// delivers results over its own accounts only. A sink that keeps state across results
// (a replaced table, an object key) must keep the shards apart, so that one shard's
// result never overwrites another's.
type Shard struct {
	Index, Count int
}

// Sharded reports whether s is part of a sharded run.
func (s Shard) Sharded() bool { return s.Count > 0 }

// String is "2/4", or "" for an unsharded run.
func (s Shard) String() string {
	if !s.Sharded() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// Name is the shard as it goes into names, where a "/" would start a directory:
// "2-of-4", or "" for an unsharded run.
func (s Shard) Name() string {
	if !s.Sharded() {
		return ""
	}
	return strconv.Itoa(s.Index) + "-of-" + strconv.Itoa(s.Count)
}
