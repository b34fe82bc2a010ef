package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

var stsActions = map[string]handlerFunc{
	"GetCallerIdentity": (*Server).getCallerIdentity,
	"AssumeRole":        (*Server).assumeRole,
}

// defaultUser is the identity of credentials the server did not issue.
const defaultUser = "fakeaws"

type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

func (s *Server) getCallerIdentity(c *call) (any, error) {
	arn, userID := s.callerIdentity(c)
	return getCallerIdentityResult{Arn: arn, UserID: userID, Account: c.account}, nil
}

// callerIdentity is the ARN and unique id of the caller of c.
func (s *Server) callerIdentity(c *call) (arn, userID string) {
	s.mu.Lock()
	sess, ok := s.sessions[c.accessKey]
	s.mu.Unlock()
	if ok {
		return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", sess.account, sess.role, sess.name),
			"AROA" + hashID(sess.account+sess.role, 17) + ":" + sess.name
	}
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", c.account, defaultUser), "AIDA" + hashID(c.account+defaultUser, 17)
}

var roleARN = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$`)

type assumeRoleResult struct {
	XMLName         xml.Name `xml:"AssumeRoleResult"`
	Credentials     stsCredentials
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string
	}
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func (s *Server) assumeRole(c *call) (any, error) {
	arn := c.form.Get("RoleArn")
	name := c.form.Get("RoleSessionName")
	if arn == "" || name == "" {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
	}
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "%s is invalid", arn)
	}
	account, role := m[1], m[2]
	if !s.knownAccount(account) || slices.Contains(s.opts.DenyAssume, arn) || slices.Contains(s.opts.DenyAssume, account) {
		caller, _ := s.callerIdentity(c)
		return nil, errorf(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, arn)
	}

	s.mu.Lock()
	s.issued++
	n := s.issued
	// "ASIA" + account + 4 characters: 20 characters like a real key id, and
	// the account is readable in logs.
	key := fmt.Sprintf("ASIA%s%04X", account, n%0x10000)
	s.sessions[key] = session{account: account, role: role, name: name}
	s.mu.Unlock()

	var out assumeRoleResult
	out.Credentials = stsCredentials{
		AccessKeyID:     key,
		SecretAccessKey: "fakeaws/" + hashHex(fmt.Sprint(s.opts.Seed, key, "secret"), 32),
		SessionToken:    "FwoGZXIvYXdzE" + hashHex(fmt.Sprint(s.opts.Seed, key, "token"), 48),
		// The real clock, not Options.Now: SDK credential caches compare
		// the expiry with time.Now.
		Expiration: awsTime(time.Now().Add(time.Hour).Truncate(time.Second)),
	}
	out.AssumedRoleUser.AssumedRoleID = "AROA" + hashID(account+role, 17) + ":" + name
	out.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, name)
	return out, nil
}
