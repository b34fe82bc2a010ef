package sink

import (
	"time"
)

// Options configure the wrappers Wrap puts around a sink. The zero value gives default
// batching and retries, no timeout and no dead letter.
type Options struct {
	Batch      BatchPolicy
	Retry      RetryPolicy
	Timeout    time.Duration   // per result, Open to Commit; 0 means none
	DeadLetter DeadLetterStore // nil means none
}

// Wrap returns s with batching, retry, timeout and dead-lettering, in this order from
// the outside in:
//
//	DeadLetter → Timeout → Batch → Retry → s
//
// The dead letter sees every row and outlives the timeout; the timeout bounds all
// retries; Retry sees the final batches, so a per-batch retry (webhook) repeats exactly
// the batch that failed.
func Wrap(s Sink, o Options) Sink {
	s = Retry(s, o.Retry)
	s = Batch(s, o.Batch)
	s = Timeout(s, o.Timeout)
	return DeadLetter(s, o.DeadLetter)
}
