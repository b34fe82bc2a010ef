package pgwire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spoutdev/spout/pgwire"
)

// selfSigned makes a certificate for 127.0.0.1, as an operator's would be.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "spout test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	s := startServer(t, pgwire.Config{
		TLS:        &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}},
		RequireTLS: true,
	})
	t.Run("psql with sslmode=require", func(t *testing.T) {
		out, errOut, err := s.psql(t, "-A", "-t", "-c", "select count(*) from test_types", "-c", `\conninfo`)
		_ = out
		if err == nil || !strings.Contains(errOut, "requires TLS") {
			t.Errorf("sslmode=disable: err %v, stderr %s", err, errOut)
		}
		cmdOut, cmdErr, err := psqlDSN(t, s.dsn("sslmode=require"), "-A", "-t", "-c", "select count(*) from test_types", "-c", `\conninfo`)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, cmdErr)
		}
		if !strings.HasPrefix(cmdOut, "20\n") || !strings.Contains(cmdOut, "SSL connection (protocol: TLSv1.3") {
			t.Errorf("output:\n%s", cmdOut)
		}
	})
	t.Run("pgx", func(t *testing.T) {
		_, err := pgx.Connect(t.Context(), s.dsn("sslmode=disable"))
		if pe := pgErr(t, err); pe.Code != "28000" {
			t.Errorf("%v", pe)
		}
		c := connect(t, s.dsn("sslmode=require"))
		var n int
		if err := c.QueryRow(t.Context(), "select count(*) from test_types").Scan(&n); err != nil || n != 20 {
			t.Errorf("%d %v", n, err)
		}
	})
}

func TestCleartextOnlyOverTLS(t *testing.T) {
	s := startServer(t, pgwire.Config{
		TLS:              &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}},
		CleartextOverTLS: true,
	})
	out, errOut, err := psqlDSN(t, s.dsn("sslmode=require"), "-A", "-t", "-c", "select count(*) from test_types")
	if err != nil || out != "20\n" {
		t.Fatalf("cleartext over TLS: %v %q\n%s", err, out, errOut)
	}
	if _, errOut, err := psqlDSN(t, s.dsn("sslmode=require", "password=wrong"), "-c", "select 1"); err == nil || !strings.Contains(errOut, "password authentication failed") {
		t.Errorf("a wrong cleartext password: %v\n%s", err, errOut)
	}
	// Without TLS the same server uses SCRAM.
	out, errOut, err = psqlDSN(t, s.dsn("sslmode=disable"), "-A", "-t", "-c", "select 1")
	if err != nil || out != "1\n" {
		t.Errorf("SCRAM without TLS: %v %q\n%s", err, out, errOut)
	}
	log := s.log.String()
	if strings.Count(log, `"auth":"password"`) != 1 || strings.Count(log, `"auth":"scram-sha-256"`) != 1 {
		t.Errorf("sessions by method, in the log:\n%s", log)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("a running query finishes within the grace period", func(t *testing.T) {
		s := startServer(t, pgwire.Config{})
		busy := connect(t, s.dsn())
		idle := connect(t, s.dsn())
		done := make(chan error, 1)
		var n int
		go func() {
			// 3 pages of test_slow: about 3 × slowDelay.
			done <- busy.QueryRow(context.Background(), "select count(*) from (select * from slow.test_slow limit 30)").Scan(&n)
		}()
		waitFor(t, func() bool { return s.Running() == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := <-done; err != nil || n != 30 {
			t.Errorf("the running query: %d %v", n, err)
		}
		// The idle session was told why it ends.
		err := idle.Ping(context.Background())
		if err == nil {
			t.Fatal("the idle session still works after Shutdown")
		}
		if _, err := pgx.Connect(context.Background(), s.dsn()); err == nil {
			t.Error("a new connection was accepted after Shutdown")
		}
	})

	t.Run("past the grace period, queries are cancelled", func(t *testing.T) {
		s := startServer(t, pgwire.Config{})
		busy := connect(t, s.dsn())
		done := make(chan error, 1)
		go func() {
			_, err := busy.Exec(context.Background(), "select count(*) from slow.test_slow")
			done <- err
		}()
		waitFor(t, func() bool { return s.Running() == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Shutdown took %s", d)
		}
		if pe := pgErr(t, <-done); pe.Code != "57P01" {
			t.Errorf("%v", pe)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
