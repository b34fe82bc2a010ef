package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/spoutdev/spout/internal/pgtest"
	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/state/postgres"
	"github.com/spoutdev/spout/state/statetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestStore(t *testing.T) {
	t.Setenv("STATE_DSN", pgtest.DSN(t))
	s, err := postgres.New("STATE_DSN", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	statetest.Run(t, s)
}

func TestNewReportsTheOptionAtFault(t *testing.T) {
	t.Setenv("EMPTY_DSN", "")
	for _, tc := range []struct{ env, table, field string }{
		{"", "", "dsn_env"},
		{"EMPTY_DSN", "", "dsn_env"},
		{"STATE_DSN", "Bad-Name", "table"},
	} {
		t.Setenv("STATE_DSN", "postgres://localhost/x")
		_, err := postgres.New(tc.env, tc.table)
		var fe *sink.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("New(%q, %q) = %v, want an error on %s", tc.env, tc.table, err, tc.field)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Setenv("STATE_DSN", "postgres://spout@127.0.0.1:1/x?connect_timeout=2")
	s, err := postgres.New("STATE_DSN", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Load(context.Background(), "q", nil); err == nil {
		t.Error("Load from a closed port succeeded")
	}
}
