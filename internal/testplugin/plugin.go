// Package testplugin is a small Steampipe plugin built with the SDK so the engine's tests can
// run in seconds, without AWS or any network.
//
// Every table is deterministic. The connection config (HCL, as in a .spc block) is:
//
//	rows       = 10             # rows in test_types
//	big_rows   = 1000000        # rows streamed by test_big
//	delay      = "0s"           # sleep before each page of test_slow
//	account_id = "000000000000" # copied into test_types.account_id
//	fail       = false          # if true, every List and Get returns "connection configured to fail"
//
// Tables:
//
//   - test_types: one column of every SDK column type; rows 1..rows. Row i has id i, name
//     "item-<i>" (NULL when i%7 == 0), score i*1.5, active i%2 == 0, created_at
//     2026-01-01T00:00:00Z plus i days, tags {"environment": "prod" if i is even else "dev",
//     "department": "eng" unless i%3 == 0} (NULL when i%10 == 0), items
//     [{"Effect":"Allow","Action":"s3:GetObject"}] plus {"Effect":"Deny","Action":"s3:PutObject"}
//     when i is even, ip "10.0.0.<i%256>", cidr "10.<i%256>.0.0/16", inet "192.168.<i%256>.1/24",
//     path "root.group<i%3>.item<i>" and account_id from the config.
//     Optional list key columns id (= <> < <= > >=), name (= <>), active (=), created_at (< <= > >=).
//     The list ignores them all, so the engine's own WHERE decides the result. A Get on id is
//     defined too: any `id =` (or `id IN`) qual makes the SDK call Get instead of List, which
//     returns just that row; that is the pushdown that cuts rows.
//   - test_required: list requires `kind =`; 5 rows per kind (kind, n 1..5, label "<kind>-<n>").
//   - test_optional: 20 rows (region, size, name); optional key columns region (=) and
//     size (= < >); the list honours `region =` only.
//   - test_error: the list always fails with "test_error: simulated API failure".
//   - test_big: streams big_rows rows (id, name, value), stopping early at a limit or cancellation.
//   - test_slow: 100 pages of 10 rows (id, page) with delay before each page.
//
// Every List and Get invocation is recorded in [Calls] so tests can assert what the plugin was
// asked for.
package testplugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

// errConfiguredToFail is what every fetch returns on a connection with `fail = true`.
var errConfiguredToFail = errors.New("connection configured to fail")

// Plugin returns the test plugin. It builds fresh tables on every call because the SDK
// initialises them in place, so two plugin servers must not share them.
func Plugin(ctx context.Context) *plugin.Plugin {
	return &plugin.Plugin{
		Name: "test",
		ConnectionConfigSchema: &plugin.ConnectionConfigSchema{
			NewInstance: configInstance,
		},
		DefaultTransform: transform.FromGo(),
		TableMap: map[string]*plugin.Table{
			"test_types":    tableTestTypes(),
			"test_required": tableTestRequired(),
			"test_optional": tableTestOptional(),
			"test_error":    tableTestError(),
			"test_big":      tableTestBig(),
			"test_slow":     tableTestSlow(),
		},
	}
}

// connectionConfig is the HCL schema of a connection. Pointers tell "unset" from zero, so the
// defaults live in one place (getSettings).
type connectionConfig struct {
	Rows      *int    `hcl:"rows"`
	BigRows   *int    `hcl:"big_rows"`
	Delay     *string `hcl:"delay"`
	AccountID *string `hcl:"account_id"`
	Fail      *bool   `hcl:"fail"`
}

func configInstance() any {
	return &connectionConfig{}
}

// settings is a connection's config with defaults applied and values parsed.
type settings struct {
	rows      int
	bigRows   int
	delay     time.Duration
	accountID string
	fail      bool
}

// getSettings reads the connection's config the way real plugins' GetConfig does: the SDK
// stores the parsed struct by value, and stores nil when the connection has no config text.
func getSettings(conn *plugin.Connection) (settings, error) {
	s := settings{rows: 10, bigRows: 1_000_000, accountID: "000000000000"}
	if conn == nil || conn.Config == nil {
		return s, nil
	}
	c, ok := conn.Config.(connectionConfig)
	if !ok {
		return s, fmt.Errorf("connection %s: unexpected config type %T", conn.Name, conn.Config)
	}
	if c.Rows != nil {
		if *c.Rows < 0 {
			return s, fmt.Errorf("connection %s: rows must not be negative, got %d", conn.Name, *c.Rows)
		}
		s.rows = *c.Rows
	}
	if c.BigRows != nil {
		if *c.BigRows < 0 {
			return s, fmt.Errorf("connection %s: big_rows must not be negative, got %d", conn.Name, *c.BigRows)
		}
		s.bigRows = *c.BigRows
	}
	if c.Delay != nil {
		d, err := time.ParseDuration(*c.Delay)
		if err != nil {
			return s, fmt.Errorf("connection %s: delay: %w", conn.Name, err)
		}
		s.delay = d
	}
	if c.AccountID != nil {
		s.accountID = *c.AccountID
	}
	if c.Fail != nil {
		s.fail = *c.Fail
	}
	return s, nil
}

// begin is the first thing every List and Get does: record the call (even on a failing
// connection, so tests can see the attempt), then load the connection's settings.
func begin(d *plugin.QueryData, fetch string) (settings, error) {
	Calls.record(d, fetch)
	s, err := getSettings(d.Connection)
	if err != nil {
		return s, err
	}
	if s.fail {
		return s, errConfiguredToFail
	}
	return s, nil
}
