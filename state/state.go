// Package state keeps the last delivered snapshot of each diffed query, so that a run
// can send only what changed since the previous successful run. The container running
// spout is stateless: a snapshot lives in a store the user already has, a PostgreSQL
// table (state/postgres) or an S3 object (state/s3).
//
// A snapshot is a list of Records, one per row: the row's canonical JSON, its hash and,
// for a keyed diff, the hash of its key columns. Only the runner uses a Store; it saves
// a query's new snapshot after every sink committed the query's result, so that a failed
// delivery never advances the state.
package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"iter"
	"slices"

	"github.com/spoutdev/spout/sink"
)

// Record is one row of a snapshot.
type Record struct {
	Hash Hash   // of Row
	Key  Hash   // of the key columns' values; zero for a diff without key
	Row  []byte // the row's canonical JSON (see Canonical)
}

// Hash identifies a row or a key: the first 16 bytes of the SHA-256 of its canonical
// JSON. Collisions are beyond reach at any result size spout handles.
type Hash [16]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads the hex form String gives.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, errors.New("bad hash " + s)
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err
}

// HashOf hashes canonical JSON.
func HashOf(b []byte) Hash {
	sum := sha256.Sum256(b)
	return Hash(sum[:16])
}

// Store keeps snapshots by key (see Key). Implementations are safe for concurrent use
// on different keys; the runner never uses one key from two goroutines.
type Store interface {
	// Type names the store in messages: "postgres", "s3".
	Type() string
	// Load calls fn for every record of the snapshot saved under key and reports whether
	// one was saved: false (and no error) means a first run. An empty snapshot that was
	// saved is found.
	Load(ctx context.Context, key string, fn func(Record) error) (found bool, err error)
	// Save replaces the snapshot under key with records, at once: a reader sees the old
	// snapshot or the new one, never a mix, and a failed Save leaves the old one.
	Save(ctx context.Context, key string, records iter.Seq2[Record, error]) error
	// Close releases the store's connections.
	Close() error
}

// Key is the key of a query's snapshot: the query name, followed by the scope (the
// shard of a sharded run) when there is one, so that runs over different accounts
// never compare against each other's rows.
func Key(query, scope string) string {
	if scope == "" {
		return query
	}
	return query + "/" + scope
}

// Canonical appends the canonical JSON of row, whose columns are cols: an object with
// the columns in name order and sink's one JSON encoding of values (timestamps in
// RFC 3339 UTC, jsonb embedded with its keys sorted by the engine's encoder). Two rows
// with the same values have the same canonical JSON whatever their column order.
func Canonical(b []byte, cols []sink.Column, row sink.Row) []byte {
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case cols[a].Name < cols[b].Name:
			return -1
		case cols[a].Name > cols[b].Name:
			return 1
		}
		return 0
	})
	b = append(b, '{')
	for n, i := range order {
		if n > 0 {
			b = append(b, ',')
		}
		b = sink.AppendJSONString(b, cols[i].Name)
		b = append(b, ':')
		var v any
		if i < len(row) {
			v = row[i]
		}
		b = sink.AppendJSONValue(b, v)
	}
	return append(b, '}')
}
