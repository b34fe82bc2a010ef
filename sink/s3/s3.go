// Package s3 delivers query results to S3 (or an S3-compatible store) as one object
// per result, streamed with a multipart upload.
//
// The object appears only when the upload completes at Commit; an aborted or failed
// result aborts its multipart upload, so no object and no stray parts are left.
// Formats are those of sink/format, optionally gzipped; server-side encryption with
// S3-managed keys (SSE-S3) or KMS (SSE-KMS) can be requested.
//
// Credentials come from the default AWS chain (environment, shared config, container
// or instance role), never from spout.yaml.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/spoutdev/spout/sink"
	"github.com/spoutdev/spout/sink/format"
)

func init() {
	sink.Register("s3", sink.FactoryOf(New))
	sink.RegisterDeadLetter("s3", deadLetterFromURL)
}

// DefaultKey is the key template used when Config.Key is empty: one object per result,
// partitioned by query and collection date; a sharded run's objects end in their shard
// (…/<run id>-shard-2-of-4.jsonl.gz).
const DefaultKey = "{{.Query}}/dt={{.Date}}/{{.RunID}}{{with .Shard}}-shard-{{.}}{{end}}{{.Ext}}"

// Config is an s3 sink's options in spout.yaml.
type Config struct {
	Bucket string `yaml:"bucket" doc:"The bucket objects are written to. Required."` // required
	// Prefix goes before every key; a "/" is added if it lacks one.
	Prefix string `yaml:"prefix" doc:"Goes before every key; a \"/\" is added if it lacks one."`
	// Key is a text/template for the object key after Prefix, over sink.NameData:
	// .Query, .RunID, .Connection, .Sink, .Date (2006-01-02), .Year, .Month, .Day,
	// .Hour, .Time (the collection time, UTC), .Shard ("2-of-4" in a sharded run, else
	// "") and .Ext (e.g. ".jsonl.gz"). Default DefaultKey. A sharded run's results are
	// refused by a key that does not use .Shard: the shards would overwrite each other.
	Key string `yaml:"key" doc:"A text/template for the object key after prefix over .Query, .RunID, .Connection, .Sink, .Date, .Year, .Month, .Day, .Hour, .Time, .Shard and .Ext. Default {{.Query}}/dt={{.Date}}/{{.RunID}}{{with .Shard}}-shard-{{.}}{{end}}{{.Ext}}; with --shard the key must use .Shard."`
	// Format is jsonl (default), ndjson, json, csv or parquet.
	Format string `yaml:"format" doc:"jsonl (default), ndjson, json, csv or parquet."`
	// Gzip compresses the object (not with parquet, which compresses its pages).
	Gzip bool `yaml:"gzip" doc:"Compress the object (not with parquet, which compresses its own pages)."`
	// Region defaults to the AWS environment's (AWS_REGION, shared config).
	Region string `yaml:"region" doc:"The bucket's region; default the AWS environment's (AWS_REGION, shared config)."`
	// Endpoint and PathStyle address an S3-compatible store (MinIO, versitygw, ...).
	Endpoint  string `yaml:"endpoint" doc:"The URL of an S3-compatible store (MinIO, versitygw, ...); default AWS."`
	PathStyle bool   `yaml:"path_style" doc:"Address the bucket in the path rather than the host name, as most S3-compatible stores need."`
	// SSE is the server-side encryption: "" (the bucket's default), AES256 (SSE-S3) or
	// aws:kms (SSE-KMS, with KMSKeyID or the AWS-managed key).
	SSE      string `yaml:"sse" doc:"Server-side encryption: AES256 (SSE-S3) or aws:kms (SSE-KMS); default the bucket's own."`
	KMSKeyID string `yaml:"kms_key_id" doc:"The KMS key for sse: aws:kms; default the AWS-managed key."`
	// PartSize is the multipart part size, at least 5MiB; default 8MiB. Memory use is
	// about three parts per result being written.
	PartSize sink.ByteSize `yaml:"part_size" doc:"The multipart part size, at least 5MiB, e.g. 16MiB; default 8MiB. A result being written holds about three parts in memory."`
}

// Sink is an s3 sink.
type Sink struct {
	name     string
	cfg      Config
	out      format.Output // cfg.Format and cfg.Gzip, checked
	key      *template.Template
	keyShard bool // the key varies with .Shard
	client   *s3.Client
	uploader *manager.Uploader
}

const defaultPartSize = 8 << 20

// New checks cfg and returns the sink. It makes no request: a wrong bucket or
// unreachable endpoint is reported by the first upload. It is registered as sink type
// "s3".
func New(name string, cfg Config) (*Sink, error) {
	fail := func(field string, err error) (*Sink, error) {
		return nil, &sink.FieldError{Field: field, Err: err}
	}
	if cfg.Bucket == "" {
		return fail("bucket", errors.New("required"))
	}
	out, err := format.Output{Format: cfg.Format, Gzip: cfg.Gzip}.Check()
	if err != nil {
		return nil, err
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.Key == "" {
		cfg.Key = DefaultKey
	}
	tmpl, err := template.New("key").Option("missingkey=error").Parse(cfg.Key)
	if err != nil {
		return fail("key", fmt.Errorf("bad template: %w", err))
	}
	switch cfg.SSE {
	case "", string(types.ServerSideEncryptionAes256):
		if cfg.KMSKeyID != "" {
			return fail("kms_key_id", errors.New("only used with sse: aws:kms"))
		}
	case string(types.ServerSideEncryptionAwsKms):
	default:
		return fail("sse", fmt.Errorf("unknown server-side encryption %q (want AES256 or aws:kms)", cfg.SSE))
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = defaultPartSize
	}
	if cfg.PartSize < sink.ByteSize(manager.MinUploadPartSize) {
		return fail("part_size", fmt.Errorf("%d bytes is below S3's minimum of 5MiB", cfg.PartSize))
	}
	s := &Sink{name: name, cfg: cfg, out: out, key: tmpl}
	sample := sink.ResultInfo{Query: "q", RunID: "r", Connection: "c", CollectedAt: time.Now()}
	if _, err := s.objectKey(sample); err != nil {
		return fail("key", err)
	}
	sample.Shard = sink.Shard{Index: 1, Count: 2}
	k1, err1 := s.renderKey(sample)
	sample.Shard.Index = 2
	k2, err2 := s.renderKey(sample)
	s.keyShard = err1 == nil && err2 == nil && k1 != k2
	client, err := newClient(cfg.Region, cfg.Endpoint, cfg.PathStyle)
	if err != nil {
		field := "region"
		if cfg.Endpoint != "" {
			field = "endpoint"
		}
		return fail(field, err)
	}
	s.client = client
	s.uploader = manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = int64(cfg.PartSize)
		u.Concurrency = 2
	})
	return s, nil
}

// NewClient makes an S3 client from the default AWS configuration chain, for the bucket's
// region (default the environment's) or an S3-compatible endpoint (http or https URL),
// addressing buckets in the path when pathStyle is set. It makes no request. The state
// store (state/s3) connects the same way.
func NewClient(region, endpoint string, pathStyle bool) (*s3.Client, error) {
	return newClient(region, endpoint, pathStyle)
}

// newClient makes an S3 client from the default AWS configuration chain.
func newClient(region, endpoint string, pathStyle bool) (*s3.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) URL", endpoint)
		}
		// S3-compatible stores often lack the CRC checksums the SDK now sends by
		// default; ask for them only where the API requires them.
		opts = append(opts,
			awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	// Loading reads the environment and shared files only; no request is made.
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if endpoint == "" {
			return nil, errors.New("no AWS region: set region, or AWS_REGION in the environment")
		}
		awsCfg.Region = "us-east-1" // S3-compatible stores rarely care
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	}), nil
}

// Name implements sink.Sink.
func (s *Sink) Name() string { return s.name }

// Close implements sink.Sink; the S3 client holds nothing that needs closing.
func (s *Sink) Close() error { return nil }

func (s *Sink) errorf(format string, args ...any) error {
	return fmt.Errorf("s3 sink %q: "+format, append([]any{s.name}, args...)...)
}

// objectKey renders the key for a result.
func (s *Sink) objectKey(info sink.ResultInfo) (string, error) {
	if info.Shard.Sharded() && !s.keyShard {
		return "", fmt.Errorf("key template %q does not use {{.Shard}}: the shards of a sharded run would write the same objects (add e.g. -{{.Shard}} before {{.Ext}})", s.cfg.Key)
	}
	return s.renderKey(info)
}

func (s *Sink) renderKey(info sink.ResultInfo) (string, error) {
	var b bytes.Buffer
	if err := s.key.Execute(&b, sink.NewNameData(info, s.name, s.out.Ext())); err != nil {
		return "", fmt.Errorf("key template: %w", err)
	}
	key := s.cfg.Prefix + b.String()
	if b.Len() == 0 || strings.HasSuffix(key, "/") || path.Clean("/"+key) != "/"+key {
		return "", fmt.Errorf("key template gives %q: want a clean path to an object", key)
	}
	return key, nil
}
