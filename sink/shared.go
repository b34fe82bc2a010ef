package sink

import (
	"io"
	"sync"
)

// SharedWriter is one stream written by several writers, such as standard output
// shared by a program's log and its file sinks: each Write goes out whole, and Hold
// keeps the stream for one writer over a longer stretch (a whole result), so that no
// writer splits another's lines.
type SharedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSharedWriter returns a SharedWriter over w.
func NewSharedWriter(w io.Writer) *SharedWriter { return &SharedWriter{w: w} }

// Write writes p while holding the stream.
func (s *SharedWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Hold calls fn with the underlying writer while no one else may write.
func (s *SharedWriter) Hold(fn func(w io.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s.w)
}
