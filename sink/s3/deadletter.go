package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spoutdev/spout/sink"
)

// DeadLetterStore keeps dead letters under an S3 prefix.
type DeadLetterStore struct {
	Bucket   string
	Prefix   string
	uploader *manager.Uploader
}

// NewDeadLetterStore returns a store writing to bucket under prefix, with a client from
// the default AWS configuration (region, endpoint and path style as in Config).
func NewDeadLetterStore(bucket, prefix, region, endpoint string, pathStyle bool) (*DeadLetterStore, error) {
	if bucket == "" {
		return nil, fmt.Errorf("s3 dead letter: no bucket")
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	client, err := newClient(region, endpoint, pathStyle)
	if err != nil {
		return nil, fmt.Errorf("s3 dead letter: %w", err)
	}
	return &DeadLetterStore{Bucket: bucket, Prefix: prefix, uploader: manager.NewUploader(client)}, nil
}

// deadLetterFromURL parses s3://bucket/prefix/?region=eu-west-1&endpoint=http://...&path_style=true.
func deadLetterFromURL(u *url.URL) (sink.DeadLetterStore, error) {
	q := u.Query()
	pathStyle := false
	if v := q.Get("path_style"); v != "" {
		var err error
		if pathStyle, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("path_style=%q: want true or false", v)
		}
	}
	for k := range q {
		if k != "region" && k != "endpoint" && k != "path_style" {
			return nil, fmt.Errorf("unknown parameter %q (want region, endpoint, path_style)", k)
		}
	}
	return NewDeadLetterStore(u.Host, strings.TrimPrefix(u.Path, "/"), q.Get("region"), q.Get("endpoint"), pathStyle)
}

// Put implements sink.DeadLetterStore.
func (d *DeadLetterStore) Put(ctx context.Context, key string, body io.Reader) (string, error) {
	key = d.Prefix + key
	_, err := d.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(d.Bucket),
		Key:         aws.String(key),
		Body:        body,
		ContentType: aws.String("application/x-ndjson"),
	})
	if err != nil {
		return "", err
	}
	return "s3://" + d.Bucket + "/" + key, nil
}
