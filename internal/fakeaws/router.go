package fakeaws

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// call is one request on its way through the server.
type call struct {
	w         *statusWriter
	r         *http.Request
	service   string
	action    string
	region    string
	account   string
	accessKey string
	anonymous bool
	requestID string
	form      url.Values // query protocols (STS, IAM, CloudFormation, EC2)
	body      []byte     // JSON protocol (Organizations)
	fp        string     // request fingerprint, for throttling
	throttled bool
}

// apiError is an AWS error answer; each protocol writes it in its own shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// handlerFunc answers one action of a query or JSON protocol service with a
// value to encode, or an *apiError.
type handlerFunc func(s *Server, c *call) (any, error)

// services maps a SigV4 signing name to its actions. S3 is routed apart
// because it is a REST protocol with no action parameter.
var services = map[string]map[string]handlerFunc{
	"sts":            stsActions,
	"iam":            iamActions,
	"cloudformation": cloudFormationActions,
	"ec2":            ec2Actions,
	"organizations":  organizationsActions,
}

func (s *Server) handler(defaultAccount string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defaultAccount := defaultAccount
		if acct, rest, ok := s.accountPrefix(r.URL.Path); ok {
			if !s.knownAccount(acct) {
				http.Error(w, "fakeaws: unknown account "+acct+" in path", http.StatusNotFound)
				return
			}
			defaultAccount = acct
			r.URL.Path, r.URL.RawPath = rest, ""
		}
		c := &call{
			w:         &statusWriter{ResponseWriter: w, status: http.StatusOK},
			r:         r,
			requestID: s.nextRequestID(),
		}
		if cred, ok := parseCredential(r); ok {
			c.service, c.region, c.accessKey = cred.service, cred.region, cred.accessKey
			c.account = s.accountFor(cred.accessKey, defaultAccount)
		} else {
			// Only S3 is called without credentials: the plugin finds a
			// bucket's region with an anonymous HeadBucket.
			c.service, c.anonymous = "s3", true
		}
		s.serve(c)
		s.record(Request{
			Time:      start,
			Service:   c.service,
			Action:    c.action,
			Region:    c.region,
			Account:   c.account,
			AccessKey: c.accessKey,
			Status:    c.w.status,
			Throttled: c.throttled,
		})
	})
}

func (s *Server) serve(c *call) {
	switch c.service {
	case "s3":
		c.action = s3Action(c.r)
		c.fp = strings.Join([]string{c.service, c.account, c.r.Method, c.r.URL.Path, c.r.URL.RawQuery}, "|")
	case "organizations":
		body, err := io.ReadAll(c.r.Body)
		if err != nil {
			s.writeError(c, errorf(http.StatusBadRequest, "SerializationException", "reading body: %v", err))
			return
		}
		c.body = body
		target := c.r.Header.Get("X-Amz-Target")
		c.action = target[strings.LastIndex(target, ".")+1:]
		c.fp = strings.Join([]string{c.service, c.account, c.region, target, string(body)}, "|")
	case "sts", "iam", "cloudformation", "ec2":
		// Query protocols send a form body; GET with a query string is legal too.
		body, err := io.ReadAll(c.r.Body)
		if err != nil {
			s.writeError(c, errorf(http.StatusBadRequest, "MalformedQueryString", "reading body: %v", err))
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			s.writeError(c, errorf(http.StatusBadRequest, "MalformedQueryString", "%v", err))
			return
		}
		for k, v := range c.r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		c.form = form
		c.action = form.Get("Action")
		c.fp = strings.Join([]string{c.service, c.account, c.region, string(body), c.r.URL.RawQuery}, "|")
	default:
		s.unknownService(c)
		return
	}

	if !s.admit(c) {
		c.throttled = true
		s.writeError(c, throttleError(c.service))
		return
	}

	if c.service == "s3" {
		s.serveS3(c)
		return
	}
	h, ok := services[c.service][c.action]
	if !ok {
		s.writeError(c, unknownAction(c))
		return
	}
	v, err := h(s, c)
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = errorf(http.StatusInternalServerError, "InternalFailure", "%v", err)
		}
		s.writeError(c, ae)
		return
	}
	s.writeResult(c, v)
}

// unknownAction is each protocol's answer to an operation it does not know.
func unknownAction(c *call) *apiError {
	if c.service == "organizations" {
		return errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %s", c.r.Header.Get("X-Amz-Target"))
	}
	return errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", c.action)
}

// unknownService answers a service the fake does not implement (any other
// plugin table) in a shape its client can parse, so the caller sees a clear
// API error instead of a deserialization failure: query-protocol XML for
// form posts, otherwise JSON with X-Amzn-ErrorType, which the JSON and
// REST-JSON protocols read first.
func (s *Server) unknownService(c *call) {
	msg := fmt.Sprintf("fakeaws does not implement the %s service", c.service)
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := io.ReadAll(c.r.Body)
		form, _ := url.ParseQuery(string(body))
		c.action = form.Get("Action")
		writeQueryError(c, errorf(http.StatusBadRequest, "InvalidAction", "%s", msg))
		return
	}
	if target := c.r.Header.Get("X-Amz-Target"); target != "" {
		c.action = target[strings.LastIndex(target, ".")+1:]
	}
	writeJSONError(c, errorf(http.StatusBadRequest, "UnknownOperationException", "%s", msg))
}

// throttleError is the error each service really answers when throttling.
// The SDK's standard retryer treats every one of these codes as retryable.
func throttleError(service string) *apiError {
	switch service {
	case "ec2":
		return errorf(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
	case "organizations":
		return errorf(http.StatusBadRequest, "TooManyRequestsException", "Rate exceeded")
	case "s3":
		return errorf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	}
	return errorf(http.StatusBadRequest, "Throttling", "Rate exceeded")
}

func (s *Server) writeError(c *call, e *apiError) {
	switch c.service {
	case "ec2":
		writeEC2Error(c, e)
	case "organizations":
		writeJSONError(c, e)
	case "s3":
		writeS3Error(c, e, "")
	default:
		writeQueryError(c, e)
	}
}

func (s *Server) writeResult(c *call, v any) {
	switch c.service {
	case "ec2":
		writeEC2Result(c, v)
	case "organizations":
		writeJSONResult(c, v)
	default:
		writeQueryResult(c, v)
	}
}

// admit applies the latency and throttling knobs. It reports false when the
// call must be answered with a throttling error.
func (s *Server) admit(c *call) bool {
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
			t.Stop()
		}
	}
	if s.opts.ThrottleRate <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// SDK clients send the same amz-sdk-invocation-id with every retry of one
	// call, so "the same request" is that call and no concurrent duplicate
	// can push it past its retries. Other clients are tracked by request
	// fingerprint alone.
	key := c.fp
	invocation := c.r.Header.Get("Amz-Sdk-Invocation-Id")
	if invocation != "" {
		key += "|" + invocation
	}
	st := s.attempts[key]
	if st == nil {
		st = &attemptState{}
		if invocation != "" {
			st.ordinal = s.invocations[c.fp]
			s.invocations[c.fp]++
		}
		s.attempts[key] = st
	}
	n := st.calls
	st.calls++
	// The decision depends only on the seed, the request, how many calls
	// with the same request came before and the attempt number, so it does
	// not change with the scheduling of other requests.
	if st.consecutive < maxConsecutiveThrottles && unitHash(s.opts.Seed, c.fp, st.ordinal, n) < s.opts.ThrottleRate {
		st.consecutive++
		return false
	}
	if invocation != "" {
		delete(s.attempts, key) // done: the SDK will not retry a success
	} else {
		st.consecutive = 0
	}
	return true
}

// unitHash maps (seed, key, a, b) to a uniform float in [0, 1).
func unitHash(seed int64, key string, a, b int) float64 {
	h := fnv.New64a()
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(seed))
	binary.LittleEndian.PutUint64(buf[8:16], uint64(a))
	binary.LittleEndian.PutUint64(buf[16:], uint64(b))
	h.Write(buf[:])
	h.Write([]byte(key))
	// splitmix64 finalizer: FNV alone mixes the low bits poorly.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// AccountPathPrefix starts a path that picks the account uncredentialed
// callers act as: /_account/<id>/... on any listener (see AccountPathURL).
const AccountPathPrefix = "/_account/"

// accountPrefix splits "/_account/<id>/rest" into the account and "/rest".
func (s *Server) accountPrefix(p string) (account, rest string, ok bool) {
	after, found := strings.CutPrefix(p, AccountPathPrefix)
	if !found {
		return "", "", false
	}
	account, rest, _ = strings.Cut(after, "/")
	return account, "/" + rest, true
}

// credential is what a request's SigV4 credential scope says.
type credential struct {
	accessKey, region, service string
}

// parseCredential reads the SigV4 credential scope from the Authorization
// header, or from X-Amz-Credential for presigned URLs. The signature itself
// is not checked.
func parseCredential(r *http.Request) (credential, bool) {
	var scope string
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "); ok {
		for part := range strings.SplitSeq(auth, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				scope = v
			}
		}
	} else {
		scope = r.URL.Query().Get("X-Amz-Credential")
	}
	// AKID/yyyymmdd/region/service/aws4_request
	f := strings.Split(scope, "/")
	if len(f) != 5 || f[4] != "aws4_request" {
		return credential{}, false
	}
	return credential{accessKey: f[0], region: f[2], service: f[3]}, true
}

// keyAccount matches access keys that carry an account id, the shape of the
// keys AssumeRole issues ("ASIA" + account + suffix).
var keyAccount = regexp.MustCompile(`^(?:AKIA|ASIA)(\d{12})`)

// accountFor resolves the account an access key acts as: an issued session's
// account, an account id embedded in the key, or the listener's default.
func (s *Server) accountFor(accessKey, def string) string {
	s.mu.Lock()
	sess, ok := s.sessions[accessKey]
	s.mu.Unlock()
	if ok {
		return sess.account
	}
	if m := keyAccount.FindStringSubmatch(accessKey); m != nil && s.knownAccount(m[1]) {
		return m[1]
	}
	return def
}

func (s *Server) nextRequestID() string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("%08x-fa4e-4000-8000-%012x", n, n)
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}
