package fakeaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// S3 is path-style REST. Objects, listing, versioning and multipart uploads
// go to gofakes3. Bucket configuration (region, tags, policy, public access
// block, ACL, ...) is answered here from the bucket registry, because
// gofakes3 v1.2.0 has none of those APIs and would answer GET ?tagging with
// an object listing.

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3BucketSubresources are the bucket configuration subresources this file
// answers (or refuses as NotImplemented), with their operation-name suffix.
var s3BucketSubresources = map[string]string{
	"tagging":             "BucketTagging",
	"policy":              "BucketPolicy",
	"policyStatus":        "BucketPolicyStatus",
	"publicAccessBlock":   "PublicAccessBlock",
	"acl":                 "BucketAcl",
	"encryption":          "BucketEncryption",
	"lifecycle":           "BucketLifecycleConfiguration",
	"logging":             "BucketLogging",
	"replication":         "BucketReplication",
	"object-lock":         "ObjectLockConfiguration",
	"notification":        "BucketNotificationConfiguration",
	"ownershipControls":   "BucketOwnershipControls",
	"website":             "BucketWebsite",
	"cors":                "BucketCors",
	"location":            "BucketLocation",
	"accelerate":          "BucketAccelerateConfiguration",
	"requestPayment":      "BucketRequestPayment",
	"analytics":           "BucketAnalyticsConfiguration",
	"inventory":           "BucketInventoryConfiguration",
	"metrics":             "BucketMetricsConfiguration",
	"intelligent-tiering": "BucketIntelligentTieringConfiguration",
}

// s3ObjectSubresources are object-level subresources gofakes3 lacks; they
// answer NotImplemented instead of being mistaken for GetObject.
var s3ObjectSubresources = []string{"tagging", "acl", "retention", "legal-hold", "attributes", "restore", "select", "torrent"}

func splitS3Path(p string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return bucket, key
}

func bucketSubresource(q url.Values) string {
	for k := range s3BucketSubresources {
		if _, ok := q[k]; ok {
			return k
		}
	}
	return ""
}

var verbs = map[string]string{http.MethodGet: "Get", http.MethodPut: "Put", http.MethodDelete: "Delete", http.MethodHead: "Head", http.MethodPost: "Post"}

// s3Action names the S3 operation of a request, for the request log.
func s3Action(r *http.Request) string {
	bucket, key := splitS3Path(r.URL.Path)
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	m := r.Method
	switch {
	case bucket == "":
		return "ListBuckets"
	case key == "":
		if sub := bucketSubresource(q); sub != "" {
			return verbs[m] + s3BucketSubresources[sub]
		}
		switch {
		case has("versioning"):
			return verbs[m] + "BucketVersioning"
		case has("versions"):
			return "ListObjectVersions"
		case has("uploads"):
			return "ListMultipartUploads"
		case has("delete"):
			return "DeleteObjects"
		case m == http.MethodHead:
			return "HeadBucket"
		case m == http.MethodPut:
			return "CreateBucket"
		case m == http.MethodDelete:
			return "DeleteBucket"
		case q.Get("list-type") == "2":
			return "ListObjectsV2"
		}
		return "ListObjects"
	}
	switch {
	case has("uploads"):
		return "CreateMultipartUpload"
	case has("uploadId") && m == http.MethodPut:
		return "UploadPart"
	case has("uploadId") && m == http.MethodPost:
		return "CompleteMultipartUpload"
	case has("uploadId") && m == http.MethodDelete:
		return "AbortMultipartUpload"
	case has("uploadId"):
		return "ListParts"
	case m == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	}
	for _, sub := range s3ObjectSubresources {
		if has(sub) {
			return verbs[m] + "Object" + strings.ToUpper(sub[:1]) + sub[1:]
		}
	}
	return verbs[m] + "Object"
}

func (s *Server) serveS3(c *call) {
	c.w.Header().Set("X-Amz-Request-Id", c.requestID)
	bucket, key := splitS3Path(c.r.URL.Path)
	q := c.r.URL.Query()
	switch {
	case bucket == "" && c.r.Method == http.MethodGet:
		s.listBuckets(c)
	case bucket == "":
		writeS3Error(c, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."), "")
	case key == "":
		s.serveBucket(c, bucket, q)
	default:
		for _, sub := range s3ObjectSubresources {
			if _, ok := q[sub]; ok {
				writeS3Error(c, notImplemented(), bucket)
				return
			}
		}
		s.s3.ServeHTTP(c.w, c.r)
	}
}

func notImplemented() *apiError {
	return errorf(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
}

func (s *Server) serveBucket(c *call, name string, q url.Values) {
	sub := bucketSubresource(q)
	if sub == "" {
		switch c.r.Method {
		case http.MethodHead:
			s.headBucket(c, name)
		case http.MethodPut:
			s.createBucket(c, name)
		case http.MethodDelete:
			s.s3.ServeHTTP(c.w, c.r)
			if c.w.status == http.StatusNoContent {
				s.mu.Lock()
				delete(s.buckets, name)
				s.mu.Unlock()
			}
		default:
			// Object listings, versioning, multi-object delete, uploads.
			s.s3.ServeHTTP(c.w, c.r)
		}
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		writeS3Error(c, errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist"), name)
		return
	}
	switch c.r.Method + " " + sub {
	case "GET location":
		// us-east-1 is the empty location constraint, as in S3.
		region := b.Region
		if region == "us-east-1" {
			region = ""
		}
		writeS3XML(c, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			Xmlns   string   `xml:"xmlns,attr"`
			Region  string   `xml:",chardata"`
		}{Xmlns: s3Namespace, Region: region})
	case "GET tagging":
		if b.Tags == nil {
			writeS3Error(c, errorf(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist"), name)
			return
		}
		writeS3XML(c, s3Tagging{Xmlns: s3Namespace, Tags: tagList(b.Tags)})
	case "PUT tagging":
		var t s3Tagging
		if !readS3XML(c, &t) {
			return
		}
		b.Tags = map[string]string{}
		for _, tag := range t.Tags {
			b.Tags[tag.Key] = tag.Value
		}
		c.w.WriteHeader(http.StatusNoContent)
	case "DELETE tagging":
		b.Tags = nil
		c.w.WriteHeader(http.StatusNoContent)
	case "GET policy":
		if b.Policy == "" {
			writeS3Error(c, errorf(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist"), name)
			return
		}
		c.w.Header().Set("Content-Type", "application/json")
		io.WriteString(c.w, b.Policy)
	case "PUT policy":
		body, err := io.ReadAll(c.r.Body)
		if err != nil {
			writeS3Error(c, errorf(http.StatusBadRequest, "MalformedPolicy", "%v", err), name)
			return
		}
		b.Policy = string(body)
		b.Public = policyIsPublic(b.Policy)
		c.w.WriteHeader(http.StatusNoContent)
	case "DELETE policy":
		b.Policy, b.Public = "", false
		c.w.WriteHeader(http.StatusNoContent)
	case "GET policyStatus":
		if b.Policy == "" {
			writeS3Error(c, errorf(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist"), name)
			return
		}
		writeS3XML(c, struct {
			XMLName  xml.Name `xml:"PolicyStatus"`
			Xmlns    string   `xml:"xmlns,attr"`
			IsPublic bool
		}{Xmlns: s3Namespace, IsPublic: b.Public})
	case "GET publicAccessBlock":
		if b.BlockPublicAccess == nil {
			writeS3Error(c, errorf(http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"), name)
			return
		}
		v := *b.BlockPublicAccess
		writeS3XML(c, s3PublicAccessBlock{Xmlns: s3Namespace, BlockPublicAcls: v, IgnorePublicAcls: v, BlockPublicPolicy: v, RestrictPublicBuckets: v})
	case "PUT publicAccessBlock":
		var p s3PublicAccessBlock
		if !readS3XML(c, &p) {
			return
		}
		// The registry keeps one flag; blocking means all four are set.
		b.BlockPublicAccess = ptr(p.BlockPublicAcls && p.IgnorePublicAcls && p.BlockPublicPolicy && p.RestrictPublicBuckets)
		c.w.WriteHeader(http.StatusOK)
	case "DELETE publicAccessBlock":
		b.BlockPublicAccess = nil
		c.w.WriteHeader(http.StatusNoContent)
	case "GET acl":
		owner := canonicalID(b.Account)
		c.w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(c.w, `%s<AccessControlPolicy xmlns="%s"><Owner><ID>%s</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>%s</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`,
			xml.Header, s3Namespace, owner, owner)
	case "GET encryption":
		// Every S3 bucket has SSE-S3 default encryption since January 2023.
		c.w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(c.w, `%s<ServerSideEncryptionConfiguration xmlns="%s"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
			xml.Header, s3Namespace)
	case "GET ownershipControls":
		c.w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(c.w, `%s<OwnershipControls xmlns="%s"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>`,
			xml.Header, s3Namespace)
	case "GET logging":
		c.w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(c.w, `%s<BucketLoggingStatus xmlns="%s"></BucketLoggingStatus>`, xml.Header, s3Namespace)
	case "GET notification":
		c.w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(c.w, `%s<NotificationConfiguration xmlns="%s"></NotificationConfiguration>`, xml.Header, s3Namespace)
	case "GET lifecycle":
		writeS3Error(c, errorf(http.StatusNotFound, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"), name)
	case "GET replication":
		writeS3Error(c, errorf(http.StatusNotFound, "ReplicationConfigurationNotFoundError", "The replication configuration was not found"), name)
	case "GET object-lock":
		writeS3Error(c, errorf(http.StatusNotFound, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"), name)
	case "GET website":
		writeS3Error(c, errorf(http.StatusNotFound, "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"), name)
	case "GET cors":
		writeS3Error(c, errorf(http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist"), name)
	default:
		writeS3Error(c, notImplemented(), name)
	}
}

type s3Tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []xmlTag `xml:"TagSet>Tag"`
}

type s3PublicAccessBlock struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

// policyIsPublic is S3's rule reduced to what the fixtures use: a statement
// allowing Principal "*" (or {"AWS": "*"}) makes a policy public.
func policyIsPublic(policy string) bool {
	compact := strings.Join(strings.Fields(policy), "")
	return strings.Contains(compact, `"Principal":"*"`) || strings.Contains(compact, `"Principal":{"AWS":"*"}`)
}

// canonicalID is the S3 canonical user id of an account.
func canonicalID(account string) string { return hashHex("canonical"+account, 64) }

type s3Bucket struct {
	Name         string
	CreationDate string
	BucketRegion string
}

func (s *Server) listBuckets(c *call) {
	if c.anonymous {
		writeS3Error(c, errorf(http.StatusForbidden, "AccessDenied", "Access Denied"), "")
		return
	}
	q := c.r.URL.Query()
	size := 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeS3Error(c, errorf(http.StatusBadRequest, "InvalidArgument", "max-buckets must be between 1 and 10000"), "")
			return
		}
		size = n
	}
	s.mu.Lock()
	var mine []*Bucket
	for _, b := range s.buckets {
		if b.Account == c.account && strings.HasPrefix(b.Name, q.Get("prefix")) &&
			(q.Get("bucket-region") == "" || q.Get("bucket-region") == b.Region) {
			mine = append(mine, b)
		}
	}
	slices.SortFunc(mine, func(a, b *Bucket) int { return strings.Compare(a.Name, b.Name) })
	start, end, next, err := paginate(len(mine), q.Get("continuation-token"), size)
	var out []s3Bucket
	if err == nil {
		for _, b := range mine[start:end] {
			out = append(out, s3Bucket{Name: b.Name, CreationDate: awsTime(b.Created), BucketRegion: b.Region})
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeS3Error(c, errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect"), "")
		return
	}
	writeS3XML(c, struct {
		XMLName xml.Name   `xml:"ListAllMyBucketsResult"`
		Xmlns   string     `xml:"xmlns,attr"`
		Buckets []s3Bucket `xml:"Buckets>Bucket"`
		Owner   struct {
			ID string
		}
		ContinuationToken string `xml:",omitempty"`
	}{Xmlns: s3Namespace, Buckets: out, Owner: struct{ ID string }{canonicalID(c.account)}, ContinuationToken: next})
}

// headBucket answers the region probe the plugin makes for every bucket
// (manager.GetBucketRegion: an anonymous HEAD that reads
// X-Amz-Bucket-Region).
func (s *Server) headBucket(c *call, name string) {
	s.mu.Lock()
	b, ok := s.buckets[name]
	var region string
	if ok {
		region = b.Region
	}
	s.mu.Unlock()
	if !ok {
		c.w.WriteHeader(http.StatusNotFound)
		return
	}
	c.w.Header().Set("X-Amz-Bucket-Region", region)
	c.w.WriteHeader(http.StatusOK)
}

// createBucket lets gofakes3 create the bucket, then registers its owner and
// region: the LocationConstraint, else the region the request was signed
// for, else us-east-1.
func (s *Server) createBucket(c *call, name string) {
	body, err := io.ReadAll(c.r.Body)
	if err != nil {
		writeS3Error(c, errorf(http.StatusBadRequest, "IncompleteBody", "%v", err), name)
		return
	}
	var conf struct {
		LocationConstraint string
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &conf); err != nil {
			writeS3Error(c, errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"), name)
			return
		}
	}
	c.r.Body = io.NopCloser(bytes.NewReader(body))
	s.s3.ServeHTTP(c.w, c.r)
	if c.w.status != http.StatusOK {
		return
	}
	region := or(conf.LocationConstraint, or(c.region, "us-east-1"))
	s.mu.Lock()
	s.buckets[name] = &Bucket{Name: name, Account: c.account, Region: region, Created: s.opts.Now}
	s.mu.Unlock()
}

func writeS3XML(c *call, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		writeS3Error(c, errorf(http.StatusInternalServerError, "InternalError", "%v", err), "")
		return
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write([]byte(xml.Header))
	c.w.Write(body)
}

func readS3XML(c *call, v any) bool {
	body, err := io.ReadAll(c.r.Body)
	if err == nil {
		err = xml.Unmarshal(body, v)
	}
	if err != nil {
		writeS3Error(c, errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"), "")
		return false
	}
	return true
}

type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	BucketName string `xml:",omitempty"`
	RequestID  string `xml:"RequestId"`
}

func writeS3Error(c *call, e *apiError, bucket string) {
	if c.r.Method == http.MethodHead {
		// HEAD answers carry no body; the SDK maps the status code.
		c.w.WriteHeader(e.status)
		return
	}
	body, _ := xml.Marshal(s3Error{Code: e.code, Message: e.message, BucketName: bucket, RequestID: c.requestID})
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(e.status)
	c.w.Write([]byte(xml.Header))
	c.w.Write(body)
}
