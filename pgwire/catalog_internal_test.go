package pgwire

import "testing"

// TestCatalogSandbox: the catalog's DuckDB is locked down as the engine's is. (Clients
// cannot read its settings: duckdb_settings is refused in catalog queries.)
func TestCatalogSandbox(t *testing.T) {
	c, err := newCatalog(t.Context(), nil, DefaultDatabase, []string{"spout"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if _, err := c.db.ExecContext(t.Context(), "select * from read_text('/etc/hostname')"); err == nil {
		t.Error("the catalog reads files")
	}
	if _, err := c.db.ExecContext(t.Context(), "set global enable_external_access = true"); err == nil {
		t.Error("the catalog's configuration is not locked")
	}
	want := map[string]string{"enable_external_access": "false", "lock_configuration": "true", "allow_community_extensions": "false",
		"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
	rows, err := c.db.QueryContext(t.Context(), "select name, coalesce(value, '') from duckdb_settings()")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("catalog setting %s = %q, want %q", k, got[k], v)
		}
	}
}
