package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spoutdev/spout/pgwire"
	"github.com/spoutdev/spout/runner"
	"github.com/spoutdev/spout/runner/config"
)

// Environment variables of spout serve. The CDK app sets them from Secrets Manager.
const (
	envServePassword = "SPOUT_SERVE_PASSWORD" // the default user's password
	envServeTLSCert  = "SPOUT_SERVE_TLS_CERT" // PEM text, not a path
	envServeTLSKey   = "SPOUT_SERVE_TLS_KEY"  // PEM text, not a path
)

// Defaults of spout serve.
const (
	defaultServeListen = ":9193"
	defaultServeUser   = "spout"
)

type serveCmd struct {
	configFlag
	stopGraceFlag
	Listen        string `placeholder:"ADDR" help:"Address to listen on (default serve.listen, else :9193)."`
	PrintVerifier bool   `help:"Read a password on stdin, print its SCRAM-SHA-256 verifier for serve.users.NAME.scram_verifier, and exit."`
}

func (c *serveCmd) Run(e *env) error {
	ctx := e.ctx
	if c.PrintVerifier {
		return printVerifier(e)
	}
	logger := newLoggerAt(e.stdout, slog.LevelInfo)
	setMemoryLimit()

	cfg, err := config.Load(c.Config, os.LookupEnv)
	if err != nil {
		name := c.Config
		if name == "" {
			name = "$" + config.EnvYAML
		}
		if errors.As(err, new(config.Errors)) {
			fmt.Fprintf(e.stderr, "spout: %s is invalid:\n%v\n", name, err)
			return exitError(exitUsage)
		}
		return usageError{msg: err.Error()}
	}
	opts, listen, err := serveOptions(cfg, c.Listen, logger)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	grace := c.StopGrace

	eng, closeEngine, err := runner.OpenEngine(ctx, cfg, plugins(), logger)
	if err != nil {
		return err
	}
	defer closeEngine()
	srv, err := pgwire.New(ctx, eng, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	logger.Info("serving", "address", ln.Addr().String(), "database", opts.Database, "tls", opts.TLS != nil, "require_tls", opts.RequireTLS)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", grace.String(), "sessions", srv.Sessions())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("grace period over: running queries were cancelled", "grace", grace.String())
	}
	<-served
	logger.Info("stopped")
	return nil
}

// serveOptions turns the serve section and the environment into the server's settings.
func serveOptions(cfg *config.Config, listenFlag string, logger *slog.Logger) (pgwire.Config, string, error) {
	s := cfg.Serve
	if s == nil {
		s = &config.Serve{}
	}
	opts := pgwire.Config{
		Database:         s.Database,
		StatementTimeout: s.StatementTimeout.D(),
		MaxConnections:   s.MaxConnections,
		Logger:           logger,
	}
	for _, u := range s.Users {
		opts.Users = append(opts.Users, pgwire.User{Name: u.Name, Password: u.Password, Verifier: u.Verifier})
	}
	if len(opts.Users) == 0 {
		pw := os.Getenv(envServePassword)
		if pw == "" {
			return opts, "", fmt.Errorf("no one could log in: set %s (the password of user %q) or list serve.users in the configuration", envServePassword, defaultServeUser)
		}
		opts.Users = []pgwire.User{{Name: defaultServeUser, Password: pw}}
	}
	certPEM, keyPEM := s.TLSCert, s.TLSKey
	if certPEM == "" && keyPEM == "" {
		certPEM, keyPEM = os.Getenv(envServeTLSCert), os.Getenv(envServeTLSKey)
		if (certPEM == "") != (keyPEM == "") {
			return opts, "", fmt.Errorf("set both %s and %s (PEM text), or neither", envServeTLSCert, envServeTLSKey)
		}
	}
	if certPEM != "" {
		pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
		if err != nil {
			return opts, "", fmt.Errorf("reading the TLS certificate and key (PEM text): %w", err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		opts.RequireTLS = s.RequireTLS == nil || *s.RequireTLS
		opts.CleartextOverTLS = s.CleartextOverTLS
	}
	listen := listenFlag
	if listen == "" {
		listen = s.Listen
	}
	if listen == "" {
		listen = defaultServeListen
	}
	return opts, listen, nil
}

func printVerifier(e *env) error {
	b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<16))
	if err != nil {
		return fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return usageError{msg: "no password on stdin"}
	}
	v, err := pgwire.ScramVerifier(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, v)
	return nil
}
