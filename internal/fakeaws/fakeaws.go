// Package fakeaws is a local AWS endpoint for tests and benchmarks.
//
// One HTTP server answers STS, EC2, IAM, CloudFormation, Organizations and S3
// in each service's real wire protocol, so unmodified AWS SDK clients (and the
// Steampipe AWS plugin through its endpoint_url option) can talk to it. The
// service is chosen by the SigV4 credential scope of each request; requests
// without credentials (the S3 bucket-region probe) go to S3.
//
// Callers the server did not issue credentials to act as the management account on
// the main URL, as account <id> on that account's own listener (AccountURL), or as
// account <id> under the path prefix /_account/<id> of any listener (AccountPathURL):
// the AWS plugin signs every call of a connection with an endpoint_url with the
// environment's keys, so an endpoint per account is how tests give connections
// different accounts.
//
// The data is a seeded, deterministic inventory of accounts, CloudFormation
// stacks, EC2 instances, S3 buckets and IAM roles. Inventory returns it as Go
// structs so tests can compute the rows they expect, and Requests returns the
// calls the server answered so tests can assert which APIs, regions and
// accounts a query touched.
package fakeaws

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Default fixture sizes, used when the matching Options field is zero.
const (
	DefaultStacks    = 300
	DefaultInstances = 60
	DefaultBuckets   = 24
	DefaultRoles     = 30
	DefaultUsers     = 6
)

// maxConsecutiveThrottles bounds how often the same request is throttled in a
// row, so an SDK retrying with its default three attempts always gets through.
const maxConsecutiveThrottles = 2

// Options configures a Server. The zero value is a useful default inventory.
type Options struct {
	// Seed makes the inventory and the throttling pattern reproducible.
	Seed int64

	// Accounts are the AWS account ids; the first one is the organization's
	// management account. Default: 111111111111, 222222222222, 333333333333.
	Accounts []string

	// Regions are the enabled regions resources are spread over.
	// Default: us-east-1, eu-west-1, us-west-2.
	Regions []string

	// Resource counts over the whole inventory (all accounts and regions).
	// Zero means the Default* constant; a negative count means none.
	Stacks    int
	Instances int
	Buckets   int
	Roles     int
	Users     int

	// Now is the clock the fixtures are relative to (CloudFormation
	// LastUpdatedTime spreads over the ~200 days before it). Default:
	// time.Now() when New is called. Credentials issued by AssumeRole expire
	// relative to the real clock, whatever Now says, so SDK caches accept them.
	Now time.Time

	// Latency is added to every call before it is answered.
	Latency time.Duration

	// ThrottleRate is the fraction of calls answered with the service's
	// throttling error (Throttling for STS/IAM/CloudFormation,
	// RequestLimitExceeded for EC2, TooManyRequestsException for
	// Organizations, 503 SlowDown for S3). The pattern is deterministic for a
	// given Seed and request sequence, and one request (an SDK call with its
	// retries) is never throttled more than twice in a row, so the SDK's
	// default three attempts always get through.
	ThrottleRate float64

	// DenyAssume lists role ARNs, or account ids meaning every role in that
	// account, for which sts:AssumeRole answers AccessDenied.
	DenyAssume []string
}

// Request is one call the server answered.
type Request struct {
	Time      time.Time
	Service   string // sts, ec2, iam, cloudformation, organizations or s3
	Action    string // API operation name, e.g. DescribeInstances or GetBucketTagging
	Region    string // from the credential scope; empty for anonymous S3 calls
	Account   string // the account the call acted as; empty for anonymous S3 calls
	AccessKey string
	Status    int  // HTTP status of the answer
	Throttled bool // answered with a throttling error
}

// Server is a running (or ready to run) fake AWS endpoint.
type Server struct {
	opts Options
	inv  *inventory
	s3   http.Handler // gofakes3, for the object API

	mu          sync.Mutex
	buckets     map[string]*Bucket // live S3 bucket registry, seeded from the inventory
	sessions    map[string]session // access key id -> assumed-role session
	issued      int                // number of sessions issued, for unique keys
	seq         int                // number of requests answered, for request ids
	log         []Request
	attempts    map[string]*attemptState // throttling state per request (see admit)
	invocations map[string]int           // SDK invocations seen per request fingerprint

	listeners []net.Listener
	servers   []*http.Server
	urls      map[string]string // account id -> URL of its listener; "" is the main one
}

// session is what an access key issued by AssumeRole stands for.
type session struct {
	account string
	role    string
	name    string
}

type attemptState struct {
	ordinal     int // which invocation of its fingerprint this is
	calls       int
	consecutive int
}

// New builds the inventory for opts. Call Start to listen, or use Handler.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	s := &Server{
		opts:        opts,
		sessions:    map[string]session{},
		attempts:    map[string]*attemptState{},
		invocations: map[string]int{},
		buckets:     map[string]*Bucket{},
		urls:        map[string]string{},
	}
	s.inv = buildInventory(opts)

	// gofakes3 stores objects; bucket metadata (region, tags, policy, ...)
	// lives in s.buckets because gofakes3 v1.2.0 has no API for it.
	backend := s3mem.New()
	for i := range s.inv.buckets {
		b := s.inv.buckets[i]
		if err := backend.CreateBucket(b.Name); err != nil {
			panic(fmt.Sprintf("fakeaws: seeding bucket %s: %v", b.Name, err))
		}
		s.buckets[b.Name] = &b
	}
	s.s3 = gofakes3.New(backend).Server()
	return s
}

func withDefaults(o Options) Options {
	if len(o.Accounts) == 0 {
		o.Accounts = []string{"111111111111", "222222222222", "333333333333"}
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1", "eu-west-1", "us-west-2"}
	}
	count := func(n, def int) int {
		switch {
		case n == 0:
			return def
		case n < 0:
			return 0
		}
		return n
	}
	o.Stacks = count(o.Stacks, DefaultStacks)
	o.Instances = count(o.Instances, DefaultInstances)
	o.Buckets = count(o.Buckets, DefaultBuckets)
	o.Roles = count(o.Roles, DefaultRoles)
	o.Users = count(o.Users, DefaultUsers)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	// Whole seconds, so times survive the wire formats unchanged and tests can
	// compare them with ==.
	o.Now = o.Now.UTC().Truncate(time.Second)
	return o
}

// Start listens on loopback: one main listener, which acts as the management
// account for credentials it did not issue, and one per account, which acts
// as that account (see AccountURL).
func (s *Server) Start() error {
	if len(s.listeners) > 0 {
		return errors.New("fakeaws: already started")
	}
	ids := append([]string{""}, s.opts.Accounts...)
	for _, id := range ids {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return fmt.Errorf("fakeaws: listen: %w", err)
		}
		def := id
		if def == "" {
			def = s.opts.Accounts[0]
		}
		srv := &http.Server{
			Handler:           s.handler(def),
			ReadHeaderTimeout: 10 * time.Second,
		}
		s.listeners = append(s.listeners, l)
		s.servers = append(s.servers, srv)
		s.urls[id] = "http://" + l.Addr().String()
		go srv.Serve(l) //nolint:errcheck // Serve always returns ErrServerClosed after Close.
	}
	return nil
}

// Close stops the listeners. It is safe to call more than once.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	s.servers, s.listeners = nil, nil
	return errors.Join(errs...)
}

// URL is the main endpoint. Credentials the server did not issue act as the
// management account (the first of Options.Accounts).
func (s *Server) URL() string { return s.urls[""] }

// AccountURL is an endpoint on which credentials the server did not issue
// act as account. It exists because the AWS plugin ignores a connection's
// profile and access_key once endpoint_url is set, so per-connection
// endpoints are the only way to give connections different accounts without
// AssumeRole. It returns "" for an unknown account or before Start.
func (s *Server) AccountURL(account string) string {
	if account == "" {
		return ""
	}
	return s.urls[account]
}

// AccountPathURL is an endpoint on the main listener on which credentials
// the server did not issue act as account: the main URL followed by
// /_account/<id>. AWS SDK clients keep an endpoint's path in front of every
// request's path (query protocols, JSON protocols and path-style S3 alike),
// so one URL template (http://host:port/_account/{{.AccountID}}) can give
// every account of an organization its own endpoint. It returns "" for an
// unknown account or before Start.
func (s *Server) AccountPathURL(account string) string {
	if !s.knownAccount(account) || s.URL() == "" {
		return ""
	}
	return s.URL() + AccountPathPrefix + account
}

// Handler serves the fake with the management account as the default
// identity, for callers that run their own http.Server or httptest.Server.
func (s *Server) Handler() http.Handler { return s.handler(s.opts.Accounts[0]) }

// PluginConfig is the HCL body of a Steampipe AWS connection that talks to
// this server as account (the management account if empty) over regions
// (all enabled regions if none are given).
func (s *Server) PluginConfig(account string, regions ...string) string {
	url := s.URL()
	if account != "" {
		url = s.AccountURL(account)
	}
	if len(regions) == 0 {
		regions = s.opts.Regions
	}
	quoted := make([]string, len(regions))
	for i, r := range regions {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("endpoint_url        = %q\ns3_force_path_style = true\nregions             = [%s]\n",
		url, strings.Join(quoted, ", "))
}

// Requests returns the calls answered since the start or the last
// ResetRequests, in the order they completed.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

// managementAccount is the organization's management account.
func (s *Server) managementAccount() string { return s.opts.Accounts[0] }

func (s *Server) knownAccount(id string) bool { return slices.Contains(s.opts.Accounts, id) }
