package config

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spoutdev/spout/internal/yamlconf"
)

// Serve is the serve section: how `spout serve` accepts Postgres clients. Every field is
// optional; the command's flags and environment variables fill what is not set.
type Serve struct {
	Listen           string       `yaml:"listen" doc:"The address to listen on, e.g. :9193 (the default) or 127.0.0.1:5433; --listen wins."`
	Database         string       `yaml:"database" doc:"The database name clients connect to; default spout."`
	StatementTimeout Duration     `yaml:"statement_timeout" doc:"Longest a query may run, e.g. 5m; default no limit. A session may lower it with SET statement_timeout, not lift it."`
	MaxConnections   int          `yaml:"max_connections" doc:"Sessions open at once; default 100."`
	RequireTLS       *bool        `yaml:"require_tls" doc:"Refuse clients that do not use TLS; default true when a certificate is configured."`
	TLSCert          string       `yaml:"tls_cert" doc:"The server certificate chain, PEM text (e.g. ${SPOUT_SERVE_TLS_CERT}); needs tls_key."`
	TLSKey           string       `yaml:"tls_key" doc:"The certificate's private key, PEM text (e.g. ${SPOUT_SERVE_TLS_KEY})."`
	CleartextOverTLS bool         `yaml:"cleartext_over_tls" doc:"Ask clients on TLS connections for the password itself, for clients without SCRAM-SHA-256; connections without TLS always use SCRAM. Needs tls_cert."`
	Users            []*ServeUser `yaml:"-"`
	node
}

// ServeUser is one entry under serve.users: a login name with its password or SCRAM
// verifier.
type ServeUser struct {
	Name     string `yaml:"-"`
	Password string `yaml:"password" doc:"The password, normally from the environment: ${SPOUT_SERVE_PASSWORD}. Give password or scram_verifier."`
	Verifier string `yaml:"scram_verifier" doc:"A SCRAM-SHA-256 verifier as Postgres stores it (SCRAM-SHA-256$4096:salt$StoredKey:ServerKey), so the password itself is not in the file."`
	node
}

func init() {
	sections = append(sections, section{key: "serve", read: (*parser).serve, schema: serveSchema})
}

func (p *parser) serve(cfg *Config, n *yaml.Node) {
	if yamlconf.IsNull(n) {
		return
	}
	s := &Serve{}
	cfg.Serve = s
	if n.Kind != yaml.MappingNode {
		p.add(nodePos(n), "serve: want a mapping, got %s", yamlconf.Describe(n))
		return
	}
	// users is a mapping of names to entries, which the struct decoder does not take:
	// it is read here and left out of the struct's keys.
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: n.Tag, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlconf.Resolve(n.Content[i+1])
		if k.Value != "users" {
			rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
			continue
		}
		p.mapping(v, "serve.users", func(uk, uv *yaml.Node) {
			u := &ServeUser{Name: uk.Value}
			p.decode(uv, u, "serve.users."+uk.Value)
			u.pos = nodePos(uk)
			switch {
			case strings.TrimSpace(uk.Value) == "":
				p.add(nodePos(uk), "serve.users: a user needs a name")
			case u.Password != "" && u.Verifier != "":
				p.add(nodePos(uk), "serve.users.%s: give password or scram_verifier, not both", uk.Value)
			case u.Password == "" && u.Verifier == "" && !cfg.envBroken:
				p.add(nodePos(uk), "serve.users.%s: needs password (e.g. ${SPOUT_SERVE_PASSWORD}) or scram_verifier; there is no login without one", uk.Value)
			case u.Verifier != "" && !strings.HasPrefix(u.Verifier, "SCRAM-SHA-256$"):
				p.add(u.ValuePos("scram_verifier"), "serve.users.%s.scram_verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", uk.Value)
			}
			s.Users = append(s.Users, u)
		})
	}
	p.decode(rest, s, "serve")
	if s.MaxConnections < 0 {
		p.add(s.ValuePos("max_connections"), "serve.max_connections: want a positive number, got %d", s.MaxConnections)
	}
	if s.StatementTimeout < 0 {
		p.add(s.ValuePos("statement_timeout"), "serve.statement_timeout: want a positive duration")
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		p.add(s.Pos(), "serve: tls_cert and tls_key go together")
	}
	if s.CleartextOverTLS && s.TLSCert == "" {
		p.add(s.ValuePos("cleartext_over_tls"), "serve.cleartext_over_tls: needs tls_cert and tls_key (a password never crosses a plain connection)")
	}
	if s.RequireTLS != nil && *s.RequireTLS && s.TLSCert == "" {
		p.add(s.ValuePos("require_tls"), "serve.require_tls: needs tls_cert and tls_key")
	}
}

func serveSchema(obj) obj {
	s := yamlconf.StructSchema(reflect.TypeFor[Serve]())
	props := s["properties"].(obj)
	props["users"] = obj{
		"description":          "Logins by name. Without any, spout serve has the user spout with the password in $SPOUT_SERVE_PASSWORD.",
		"type":                 "object",
		"additionalProperties": yamlconf.StructSchema(reflect.TypeFor[ServeUser]()),
	}
	return withDoc(s, "Settings of spout serve, the PostgreSQL wire-protocol server.")
}
