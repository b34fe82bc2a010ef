package sink

import (
	"errors"
	"fmt"
	"time"
)

// PermanentError marks a failure that retrying cannot fix (a rejected request, a type
// mismatch, a bad template). Retry gives up on it at once.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError. It returns nil for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError marks a failure worth retrying no sooner than After, e.g. an HTTP 429
// or 503 response with a Retry-After header.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err as a RetryAfterError. It returns nil for a nil err.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: after}
}

// DeliveryError is returned by Commit when a result could not be delivered after all
// retries. When a dead-letter destination is configured, DeadLetter says where the
// whole result went; DeadLetterErr is set if writing the dead letter failed too.
type DeliveryError struct {
	Sink          string
	Err           error
	DeadLetter    string
	DeadLetterErr error
}

func (e *DeliveryError) Error() string {
	switch {
	case e.DeadLetterErr != nil:
		return fmt.Sprintf("%v; dead-lettering the result failed too: %v", e.Err, e.DeadLetterErr)
	case e.DeadLetter != "":
		return fmt.Sprintf("%v; result dead-lettered to %s", e.Err, e.DeadLetter)
	default:
		return e.Err.Error()
	}
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// FieldError is returned by a destination's New when one option is at fault, so that
// Build can point at that option's line in the configuration file.
type FieldError struct {
	Field string // the YAML key, e.g. "mode"
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ConfigError is a problem in a sink's options, at its position in the YAML document.
// Err says what is wrong without naming the sink, which Sink does; the runner adds the
// file name to get file:line:column.
type ConfigError struct {
	Sink   string
	Line   int    // 1-based; 0 if unknown
	Column int    // 1-based; 0 if unknown
	Field  string // the option at fault (or the mapping holding an unknown key), "a.b"; "" for the sink as a whole
	Err    error
}

func (e *ConfigError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("sink %q: %v", e.Sink, e.Err)
	}
	return fmt.Sprintf("line %d:%d: sink %q: %v", e.Line, max(e.Column, 1), e.Sink, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }
