package fakeaws

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Wire encodings shared by the handlers: the AWS query protocol (STS, IAM,
// CloudFormation), its EC2 dialect, and JSON 1.1 (Organizations). S3 lives in
// s3.go.

var queryNamespaces = map[string]string{
	"sts":            "https://sts.amazonaws.com/doc/2011-06-15/",
	"iam":            "https://iam.amazonaws.com/doc/2010-05-08/",
	"cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// queryResponse is <ActionResponse><ActionResult>...</ActionResult>
// <ResponseMetadata/></ActionResponse>. Result is a struct whose XMLName tag
// names the ActionResult element, or nil for actions without output.
type queryResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func writeQueryResult(c *call, v any) {
	writeXML(c, http.StatusOK, queryResponse{
		XMLName:   xml.Name{Local: c.action + "Response"},
		Xmlns:     queryNamespaces[c.service],
		Result:    v,
		RequestID: c.requestID,
	})
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

func writeQueryError(c *call, e *apiError) {
	var resp queryErrorResponse
	resp.Xmlns = queryNamespaces[c.service]
	resp.Error.Type = "Sender"
	if e.status >= 500 {
		resp.Error.Type = "Receiver"
	}
	resp.Error.Code, resp.Error.Message = e.code, e.message
	resp.RequestID = c.requestID
	writeXML(c, e.status, resp)
}

// ec2Meta starts every EC2 response body. Result types embed it and are
// returned as pointers so writeEC2Result can fill it in.
type ec2Meta struct {
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

func (m *ec2Meta) setMeta(requestID string) { m.Xmlns, m.RequestID = ec2Namespace, requestID }

func writeEC2Result(c *call, v any) {
	if m, ok := v.(interface{ setMeta(string) }); ok {
		m.setMeta(c.requestID)
	}
	writeXML(c, http.StatusOK, v)
}

type ec2ErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string
		Message string
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

func writeEC2Error(c *call, e *apiError) {
	var resp ec2ErrorResponse
	resp.Errors = append(resp.Errors, struct {
		Code    string
		Message string
	}{e.code, e.message})
	resp.RequestID = c.requestID
	writeXML(c, e.status, resp)
}

func writeXML(c *call, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(c.w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", c.requestID)
	c.w.WriteHeader(status)
	c.w.Write([]byte(xml.Header))
	c.w.Write(body)
}

func writeJSONResult(c *call, v any) {
	writeJSON(c, http.StatusOK, v)
}

func writeJSONError(c *call, e *apiError) {
	c.w.Header().Set("X-Amzn-Errortype", e.code)
	writeJSON(c, e.status, map[string]string{"__type": e.code, "Message": e.message})
}

func writeJSON(c *call, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(c.w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", c.requestID)
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// awsTime is the timestamp format of the XML protocols.
func awsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// memberList reads a query-protocol list: Name.member.1, Name.member.2, ...
func memberList(form url.Values, name string) []string {
	return indexedList(form, name+".member")
}

// indexedList reads an EC2-style list: Name.1, Name.2, ...
func indexedList(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// ec2Filter is one Filter.N of an EC2 Describe call.
type ec2Filter struct {
	name   string
	values []string
}

func ec2Filters(form url.Values) []ec2Filter {
	var out []ec2Filter
	for i := 1; ; i++ {
		name := form.Get(fmt.Sprintf("Filter.%d.Name", i))
		if name == "" {
			return out
		}
		out = append(out, ec2Filter{name: name, values: indexedList(form, fmt.Sprintf("Filter.%d.Value", i))})
	}
}

// intParam reads an optional integer parameter; def if absent.
func intParam(form url.Values, name string, def int) (int, error) {
	v := form.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q for %s", v, name)
	}
	return n, nil
}

var errBadToken = errors.New("invalid pagination token")

// paginate returns the window [start, end) of n items for a page token and
// page size, and the token of the next page ("" on the last page). Tokens
// are opaque offsets, different for every page so SDK paginators'
// duplicate-token checks pass.
func paginate(n int, token string, size int) (start, end int, next string, err error) {
	if token != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		off, ok := strings.CutPrefix(string(raw), "fakeaws:")
		if derr != nil || !ok {
			return 0, 0, "", errBadToken
		}
		start, err = strconv.Atoi(off)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", errBadToken
		}
	}
	end = min(start+size, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("fakeaws:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// xmlTags is the query-protocol tag list (Tags.member.N.Key/Value), sorted
// by key so answers are deterministic.
type xmlTag struct {
	Key   string
	Value string
}

func tagList(m map[string]string) []xmlTag {
	out := make([]xmlTag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, xmlTag{Key: k, Value: m[k]})
	}
	return out
}

// ec2Tag is the EC2 dialect's lower-case tag.
type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func ec2TagList(m map[string]string) []ec2Tag {
	out := make([]ec2Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, ec2Tag{Key: k, Value: m[k]})
	}
	return out
}
