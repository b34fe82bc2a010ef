// Package s3test serves an in-memory S3 API (gofakes3) over HTTP for tests, keeps the
// requests it received, and fails the ones a test chooses.
package s3test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3.
type Server struct {
	URL     string
	Backend *s3mem.Backend

	mu       sync.Mutex
	requests []*http.Request
	fail     func(*http.Request) bool
}

// Start serves buckets until the test ends. It also points the AWS SDK's environment at
// dummy credentials, away from the host's ~/.aws, with no retries: the SDK's own
// retries of injected failures would only slow the tests down.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_REGION":                  "eu-west-1",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "1",
	} {
		t.Setenv(k, v)
	}
	s := &Server{Backend: s3mem.New()}
	for _, b := range buckets {
		if err := s.Backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	faker := gofakes3.New(s.Backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		fail := s.fail != nil && s.fail(r)
		s.mu.Unlock()
		if fail {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
			return
		}
		faker.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// FailWhen makes every request for which f returns true fail with a 500; nil serves all.
func (s *Server) FailWhen(f func(*http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Keys lists the objects of bucket.
func (s *Server) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	list, err := s.Backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	return keys
}
