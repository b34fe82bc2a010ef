package pgwire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// User is a login. Give either Password (plain text, e.g. from an environment variable)
// or Verifier, a SCRAM-SHA-256 verifier as Postgres stores it in pg_authid.rolpassword:
//
//	SCRAM-SHA-256$4096:<salt base64>$<StoredKey base64>:<ServerKey base64>
//
// (select rolpassword from pg_authid after ALTER ROLE ... PASSWORD, or ScramVerifier).
type User struct {
	Name     string
	Password string
	Verifier string

	creds scram.StoredCredentials
}

// scramIterations is Postgres's default scram_iterations.
const scramIterations = 4096

func (u *User) prepare() error {
	if u.Name == "" {
		return errors.New("a user needs a name")
	}
	switch {
	case u.Password != "" && u.Verifier != "":
		return errors.New("give a password or a verifier, not both")
	case u.Verifier != "":
		c, err := parseVerifier(u.Verifier)
		if err != nil {
			return err
		}
		u.creds = c
	case u.Password != "":
		c, err := storedCredentials(u.Password, scramIterations)
		if err != nil {
			return err
		}
		u.creds = c
	default:
		return errors.New("a user needs a password or a SCRAM-SHA-256 verifier (there is no trust mode)")
	}
	return nil
}

// mockCredentials are the made-up SCRAM credentials of a user name that does not exist:
// derived from the name with the server's secret, so that every attempt sees the same
// salt, as it would for a real user (a fresh salt each time would tell the name is
// unknown), and computed without PBKDF2, so that it takes no longer than a real user's
// lookup.
func (s *Server) mockCredentials(name string) scram.StoredCredentials {
	derive := func(what string) []byte {
		m := hmac.New(sha256.New, s.mockKey[:])
		m.Write([]byte(what + "\x00" + name))
		return m.Sum(nil)
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(derive("salt")[:16]), Iters: scramIterations},
		StoredKey:  derive("stored"),
		ServerKey:  derive("server"),
	}
}

func storedCredentials(password string, iters int) (scram.StoredCredentials, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("generating a salt: %w", err)
	}
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		return scram.StoredCredentials{}, fmt.Errorf("preparing the password: %w", err)
	}
	return client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: iters})
}

// ScramVerifier returns the SCRAM-SHA-256 verifier of password, in Postgres's format, for
// putting in a configuration instead of the password itself.
func ScramVerifier(password string) (string, error) {
	c, err := storedCredentials(password, scramIterations)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", c.Iters, b64([]byte(c.Salt)), b64(c.StoredKey), b64(c.ServerKey)), nil
}

func parseVerifier(v string) (scram.StoredCredentials, error) {
	bad := func(what string) (scram.StoredCredentials, error) {
		return scram.StoredCredentials{}, fmt.Errorf("bad SCRAM-SHA-256 verifier (%s); want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", what)
	}
	rest, ok := strings.CutPrefix(v, "SCRAM-SHA-256$")
	if !ok {
		return bad("it must start with SCRAM-SHA-256$")
	}
	factors, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return bad("no $ before the keys")
	}
	itersText, saltText, ok := strings.Cut(factors, ":")
	if !ok {
		return bad("no : between iterations and salt")
	}
	iters, err := strconv.Atoi(itersText)
	if err != nil || iters < 1 {
		return bad("iterations is not a positive number")
	}
	storedText, serverText, ok := strings.Cut(keys, ":")
	if !ok {
		return bad("no : between StoredKey and ServerKey")
	}
	dec := base64.StdEncoding.DecodeString
	salt, err1 := dec(saltText)
	stored, err2 := dec(storedText)
	server, err3 := dec(serverText)
	if err := errors.Join(err1, err2, err3); err != nil {
		return bad("a part is not base64")
	}
	if len(stored) != 32 || len(server) != 32 {
		return bad("keys must be 32 bytes")
	}
	return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: iters}, StoredKey: stored, ServerKey: server}, nil
}
