package s3_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/spoutdev/spout/internal/s3test"
	"github.com/spoutdev/spout/state/s3"
	"github.com/spoutdev/spout/state/statetest"
)

func fake(t *testing.T) (url string, backend *s3mem.Backend) {
	t.Helper()
	srv := s3test.Start(t, "state")
	return srv.URL, srv.Backend
}

func TestStore(t *testing.T) {
	url, backend := fake(t)
	s, err := s3.New("state", "spout/state", "", url, true)
	if err != nil {
		t.Fatal(err)
	}
	statetest.Run(t, s)

	// The object is where the documentation says, in the format it describes.
	obj, err := backend.GetObject("state", "spout/state/q.state.gz", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Contents.Close()
	zr, err := gzip.NewReader(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 || lines[0] != "spout-state 1" || strings.Count(lines[1], "\t") != 2 {
		t.Errorf("object = %q, want a header and 3 records", b)
	}
}

func TestNotAStateObject(t *testing.T) {
	url, backend := fake(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("something else\n"))
	zw.Close()
	if _, err := backend.PutObject("state", "q.state.gz", nil, bytes.NewReader(gz.Bytes()), int64(gz.Len()), nil); err != nil {
		t.Fatal(err)
	}
	s, err := s3.New("state", "", "", url, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), "q", nil); err == nil || !strings.Contains(err.Error(), "not a spout state object") {
		t.Errorf("Load = %v, want a refusal of the foreign object", err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	fake(t) // the environment
	s, err := s3.New("state", "", "", url, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), "q", nil); err == nil {
		t.Error("Load from a closed endpoint succeeded")
	}
}
