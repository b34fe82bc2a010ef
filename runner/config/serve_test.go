package config

import (
	"strings"
	"testing"
	"time"
)

func TestServeSection(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "SPOUT_SERVE_PASSWORD" {
			return "pw from env", true
		}
		return "", false
	}
	good := `connections:
  aws: {plugin: aws}
serve:
  listen: 127.0.0.1:5433
  database: inventory
  statement_timeout: 2m
  max_connections: 20
  users:
    grafana:
      password: ${SPOUT_SERVE_PASSWORD}
    analyst:
      scram_verifier: "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5"
`
	cfg, err := Parse("spout.yaml", ".", []byte(good), env)
	if err != nil {
		t.Fatalf("a serve-only file: %v", err)
	}
	s := cfg.Serve
	if s.Listen != "127.0.0.1:5433" || s.Database != "inventory" || s.StatementTimeout.D() != 2*time.Minute || s.MaxConnections != 20 {
		t.Errorf("serve = %+v", s)
	}
	if len(s.Users) != 2 || s.Users[0].Name != "grafana" || s.Users[0].Password != "pw from env" || s.Users[1].Verifier == "" {
		t.Errorf("users = %+v %+v", s.Users[0], s.Users[1])
	}

	for _, tc := range []struct{ yaml, want string }{
		{"serve:\n  users:\n    bob: {}\n", "spout.yaml:5:5: serve.users.bob: needs password"},
		{"serve:\n  users:\n    bob: {password: x, scram_verifier: y}\n", "spout.yaml:5:5: serve.users.bob: give password or scram_verifier, not both"},
		{"serve:\n  users:\n    bob:\n      scram_verifier: md5abc\n", "spout.yaml:6:23: serve.users.bob.scram_verifier: want SCRAM-SHA-256$"},
		{"serve:\n  listen: :9193\n  tls_cert: x\n", "serve: tls_cert and tls_key go together"},
		{"serve:\n  require_tls: true\n", "spout.yaml:4:16: serve.require_tls: needs tls_cert and tls_key"},
		{"serve:\n  cleartext_over_tls: true\n", "spout.yaml:4:23: serve.cleartext_over_tls: needs tls_cert"},
		{"serve:\n  max_conections: 3\n", `spout.yaml:4:3: serve: unknown key "max_conections"`},
		{"serve:\n  statement_timeout: soon\n", "spout.yaml:4:22:"},
	} {
		_, err := Parse("spout.yaml", ".", []byte("connections:\n  aws: {plugin: aws}\n"+tc.yaml), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
