// Package postgres keeps diff snapshots in PostgreSQL: one row per snapshot in a table
// (default spout_state: state_key, saved_at, rows) and one row per record in a second
// table named after it (spout_state_rows: state_key, row_hash, key_hash, row). The row is
// stored as json, which keeps the canonical text as written, so the state is also
// something a user can query.
//
// Save replaces a snapshot in one transaction, so readers see the old snapshot or the
// new one. The tables are created on first use. The connection string comes from the
// environment variable named by dsn_env, as for the postgres sink (sink/postgres.NewPool).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/spoutdev/spout/sink"
	sinkpg "github.com/spoutdev/spout/sink/postgres"
	"github.com/spoutdev/spout/state"
)

// DefaultTable is the snapshot table when Config.Table is empty.
const DefaultTable = "spout_state"

var tablePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,57}$`)

// Store is a state store in PostgreSQL.
type Store struct {
	pool      *pgxpool.Pool
	snapshots pgx.Identifier
	rows      pgx.Identifier
	rowsName  string

	mu      sync.Mutex
	created bool // the tables are known to exist
}

// New returns a store whose connection string is in the environment variable dsnEnv,
// with its snapshot table called table (default DefaultTable; rows go to table_rows).
// It does not connect. Errors about an option are *sink.FieldError naming it.
func New(dsnEnv, table string) (*Store, error) {
	if table == "" {
		table = DefaultTable
	}
	if !tablePattern.MatchString(table) {
		return nil, &sink.FieldError{Field: "table", Err: fmt.Errorf("%q: want a lower-case table name of at most 58 characters", table)}
	}
	pool, err := sinkpg.NewPool(dsnEnv, "spout/state")
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, snapshots: pgx.Identifier{table}, rows: pgx.Identifier{table + "_rows"}, rowsName: table + "_rows"}, nil
}

// Type implements state.Store.
func (s *Store) Type() string { return "postgres" }

// Close implements state.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// ensureTables creates the tables unless this store already did.
func (s *Store) ensureTables(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created {
		return nil
	}
	_, err := s.pool.Exec(ctx, `create table if not exists `+s.snapshots.Sanitize()+` (
	state_key text primary key,
	saved_at timestamptz not null,
	rows bigint not null
);
create table if not exists `+s.rows.Sanitize()+` (
	state_key text not null,
	row_hash text not null,
	key_hash text,
	row json not null
);
create index if not exists `+pgx.Identifier{s.rowsName + "_key"}.Sanitize()+` on `+s.rows.Sanitize()+` (state_key)`)
	if err != nil {
		return fmt.Errorf("creating the state tables: %w", err)
	}
	s.created = true
	return nil
}

// Load implements state.Store.
func (s *Store) Load(ctx context.Context, key string, fn func(state.Record) error) (bool, error) {
	// One snapshot is read in one transaction, so a Save committed meanwhile is not half seen.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return false, fmt.Errorf("postgres state: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var n int64
	err = tx.QueryRow(ctx, `select rows from `+s.snapshots.Sanitize()+` where state_key = $1`, key).Scan(&n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case isUndefinedTable(err):
		return false, nil // nothing was ever saved here
	case err != nil:
		return false, fmt.Errorf("postgres state: reading snapshot %s: %w", key, err)
	}
	rows, err := tx.Query(ctx, `select row_hash, coalesce(key_hash, ''), row::text from `+s.rows.Sanitize()+` where state_key = $1`, key)
	if err != nil {
		return true, fmt.Errorf("postgres state: reading snapshot %s: %w", key, err)
	}
	defer rows.Close()
	var rowHash, keyHash string
	var row []byte
	for rows.Next() {
		if err := rows.Scan(&rowHash, &keyHash, &row); err != nil {
			return true, fmt.Errorf("postgres state: reading snapshot %s: %w", key, err)
		}
		rec := state.Record{Row: row}
		if rec.Hash, err = state.ParseHash(rowHash); err != nil {
			return true, fmt.Errorf("postgres state: snapshot %s: %w", key, err)
		}
		if keyHash != "" {
			if rec.Key, err = state.ParseHash(keyHash); err != nil {
				return true, fmt.Errorf("postgres state: snapshot %s: %w", key, err)
			}
		}
		if err := fn(rec); err != nil {
			return true, err
		}
		row = nil // Scan reuses a non-nil slice; fn may keep the record
	}
	if err := rows.Err(); err != nil {
		return true, fmt.Errorf("postgres state: reading snapshot %s: %w", key, err)
	}
	return true, nil
}

// Save implements state.Store.
func (s *Store) Save(ctx context.Context, key string, records iter.Seq2[state.Record, error]) error {
	if err := s.ensureTables(ctx); err != nil {
		return fmt.Errorf("postgres state: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres state: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Taking the snapshot's row first serialises two saves of one key.
	if _, err := tx.Exec(ctx, `insert into `+s.snapshots.Sanitize()+` (state_key, saved_at, rows) values ($1, now(), 0)
on conflict (state_key) do update set saved_at = now()`, key); err != nil {
		return fmt.Errorf("postgres state: saving snapshot %s: %w", key, err)
	}
	if _, err := tx.Exec(ctx, `delete from `+s.rows.Sanitize()+` where state_key = $1`, key); err != nil {
		return fmt.Errorf("postgres state: saving snapshot %s: %w", key, err)
	}
	next, stop := iter.Pull2(records)
	defer stop()
	src := &copySource{key: key, next: next}
	n, err := tx.CopyFrom(ctx, s.rows, []string{"state_key", "row_hash", "key_hash", "row"}, src)
	if src.err != nil {
		return src.err
	}
	if err != nil {
		return fmt.Errorf("postgres state: saving snapshot %s: %w", key, err)
	}
	if _, err := tx.Exec(ctx, `update `+s.snapshots.Sanitize()+` set rows = $2 where state_key = $1`, key, n); err != nil {
		return fmt.Errorf("postgres state: saving snapshot %s: %w", key, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres state: saving snapshot %s: %w", key, err)
	}
	return nil
}

// copySource feeds COPY from the records being saved.
type copySource struct {
	key  string
	next func() (state.Record, error, bool)
	rec  state.Record
	err  error
}

func (c *copySource) Next() bool {
	rec, err, ok := c.next()
	if !ok {
		return false
	}
	if err != nil {
		c.err = err
		return false
	}
	c.rec = rec
	return true
}

func (c *copySource) Values() ([]any, error) {
	var key any
	if c.rec.Key != (state.Hash{}) {
		key = c.rec.Key.String()
	}
	return []any{c.key, c.rec.Hash.String(), key, string(c.rec.Row)}, nil
}

func (c *copySource) Err() error { return c.err }

func isUndefinedTable(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "42P01"
}
