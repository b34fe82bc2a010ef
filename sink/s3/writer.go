package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/sink/format"
)

var errAborted = errors.New("result aborted")

// Open starts the upload of one result. Rows flow encoder → gzip → pipe → uploader,
// which sends a part whenever it has PartSize bytes, so memory stays bounded.
func (s *Sink) Open(ctx context.Context, info sink.ResultInfo) (sink.Writer, error) {
	key, err := s.objectKey(info)
	if err != nil {
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	pr, pw := io.Pipe()
	w := &writer{s: s, key: key, pw: pw, pipe: &pipeWriter{w: pw}, done: make(chan struct{})}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.cfg.Bucket),
		Key:         aws.String(key),
		Body:        pr,
		ContentType: aws.String(s.out.ContentType()),
		Metadata:    map[string]string{"spout-query": info.Query, "spout-run-id": info.RunID},
	}
	if info.Shard.Sharded() {
		in.Metadata["spout-shard"] = info.Shard.String()
	}
	if s.cfg.SSE != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(s.cfg.SSE)
	}
	if s.cfg.KMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.cfg.KMSKeyID)
	}
	// The upload lives as long as the writer, not as long as the Open call. It starts
	// reading before the encoder exists, because some encoders write a header at once.
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	go func() {
		defer close(w.done)
		_, w.uploadErr = s.uploader.Upload(uctx, in)
		if w.uploadErr != nil {
			// Unblock and fail Writes still feeding the pipe.
			pr.CloseWithError(w.uploadErr)
			s.abortStray(w.uploadErr, key)
		}
	}()

	enc, err := s.out.NewEncoder(w.pipe, info.Columns)
	if err != nil {
		w.Abort(ctx)
		return nil, sink.Permanent(s.errorf("%w", err))
	}
	w.enc = enc
	return w, nil
}

// abortStray aborts a multipart upload the uploader left behind: it aborts on failure
// itself, but ignores the abort's own failure.
func (s *Sink) abortStray(err error, key string) {
	var mf manager.MultiUploadFailure
	if !errors.As(err, &mf) || mf.UploadID() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key), UploadId: aws.String(mf.UploadID()),
	})
}

type writer struct {
	s    *Sink
	key  string
	enc  format.Encoder
	pw   *io.PipeWriter
	pipe *pipeWriter

	cancel    context.CancelFunc
	done      chan struct{} // closed when the upload returns
	uploadErr error         // set before done is closed

	err      error // sticky failure
	finished bool
}

func (w *writer) Write(ctx context.Context, rows []sink.Row) error {
	if w.err != nil {
		return w.err
	}
	if err := ctx.Err(); err != nil {
		return w.fail(err, "write")
	}
	// A write into the pipe waits for the uploader; let ctx interrupt it.
	defer context.AfterFunc(ctx, func() { w.pw.CloseWithError(ctx.Err()) })()
	if err := w.enc.Encode(rows); err != nil {
		if ctx.Err() != nil {
			return w.fail(ctx.Err(), "write")
		}
		return w.fail(err, "encode")
	}
	return nil
}

func (w *writer) Commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	stop := context.AfterFunc(ctx, func() { w.pw.CloseWithError(ctx.Err()) })
	err := w.enc.Close()
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return w.fail(ctx.Err(), "write")
		}
		return w.fail(err, "encode")
	}
	w.pw.Close() // EOF: the uploader sends the last part and completes the upload
	select {
	case <-w.done:
	case <-ctx.Done():
		// The pipe is closed already, so only cancelling stops the upload from
		// completing after we have reported failure. abortStray cleans up after it.
		w.cancel()
		return w.fail(ctx.Err(), "complete upload")
	}
	if w.uploadErr != nil {
		return w.fail(w.uploadErr, "upload")
	}
	w.finished = true
	w.cancel()
	return nil
}

// Abort fails the pipe, so the uploader stops and aborts the multipart upload. Its
// context is left alive for that abort request, unless ctx runs out first.
func (w *writer) Abort(ctx context.Context) error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.pw.CloseWithError(errAborted)
	defer w.cancel()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	return nil
}

// fail records the writer's failure, stops the upload and returns the error wrapped
// with what was being done, marked permanent unless worth retrying.
func (w *writer) fail(err error, doing string) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.pipe.err != nil:
		// The upload failed and closed the pipe: report the upload's own error.
		<-w.done
		err, doing = w.uploadErr, "upload"
	case doing == "encode":
		// The rows themselves could not be encoded; they never will be.
		err = sink.Permanent(err)
	}
	w.pw.CloseWithError(err)
	w.err = classify(w.s.errorf("%s s3://%s/%s: %w", doing, w.s.cfg.Bucket, w.key, err))
	return w.err
}

// pipeWriter remembers that writing into the pipe failed, which means the upload did.
type pipeWriter struct {
	w   io.Writer
	err error
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && p.err == nil {
		p.err = err
	}
	return n, err
}

// classify marks err permanent when S3 refused the request for good (access denied,
// no such bucket, ...): a 4xx other than 408 and 429. Throttling, 5xx and network
// errors stay retryable; the SDK has retried them already, but a later try of the
// whole result may still succeed.
func classify(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
			return sink.Permanent(err)
		}
	}
	return err
}
