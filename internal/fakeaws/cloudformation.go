package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
)

var cloudFormationActions = map[string]handlerFunc{
	"ListStacks":             (*Server).listStacks,
	"DescribeStacks":         (*Server).describeStacks,
	"GetTemplate":            (*Server).getTemplate,
	"DescribeStackResources": (*Server).describeStackResources,
}

// cfnPage applies CloudFormation's NextToken pagination with its fixed page
// size of 100 (ListStacks and DescribeStacks take no page-size parameter).
func cfnPage(c *call, n int) (start, end int, next string, err error) {
	start, end, next, err = paginate(n, c.form.Get("NextToken"), 100)
	if err != nil {
		return 0, 0, "", errorf(http.StatusBadRequest, "ValidationError", "Invalid NextToken")
	}
	return start, end, next, nil
}

type cfnDrift struct {
	StackDriftStatus string
}

type cfnStackSummary struct {
	StackID             string `xml:"StackId"`
	StackName           string
	TemplateDescription string
	CreationTime        string
	LastUpdatedTime     string `xml:",omitempty"`
	StackStatus         string
	DriftInformation    cfnDrift
}

type listStacksResult struct {
	XMLName        xml.Name          `xml:"ListStacksResult"`
	StackSummaries []cfnStackSummary `xml:"StackSummaries>member"`
	NextToken      string            `xml:",omitempty"`
}

func (s *Server) listStacks(c *call) (any, error) {
	statuses := memberList(c.form, "StackStatusFilter")
	var stacks []*Stack
	for _, st := range s.inv.stacks[scope{c.account, c.region}] {
		if len(statuses) == 0 || slices.Contains(statuses, st.Status) {
			stacks = append(stacks, st)
		}
	}
	start, end, next, err := cfnPage(c, len(stacks))
	if err != nil {
		return nil, err
	}
	out := listStacksResult{NextToken: next}
	for _, st := range stacks[start:end] {
		out.StackSummaries = append(out.StackSummaries, cfnStackSummary{
			StackID:             st.ID,
			StackName:           st.Name,
			TemplateDescription: st.Description,
			CreationTime:        awsTime(st.Created),
			LastUpdatedTime:     awsTime(st.LastUpdated),
			StackStatus:         st.Status,
			DriftInformation:    cfnDrift{"NOT_CHECKED"},
		})
	}
	return out, nil
}

type cfnStack struct {
	StackID                     string `xml:"StackId"`
	StackName                   string
	Description                 string
	CreationTime                string
	LastUpdatedTime             string `xml:",omitempty"`
	StackStatus                 string
	DisableRollback             bool
	NotificationARNs            []string       `xml:"NotificationARNs>member"`
	Capabilities                []string       `xml:"Capabilities>member"`
	Outputs                     []cfnOutput    `xml:"Outputs>member"`
	Parameters                  []cfnParameter `xml:"Parameters>member"`
	Tags                        []xmlTag       `xml:"Tags>member"`
	EnableTerminationProtection bool
	RetainExceptOnCreate        bool
	DriftInformation            cfnDrift
}

type cfnOutput struct {
	OutputKey   string
	OutputValue string
}

type cfnParameter struct {
	ParameterKey   string
	ParameterValue string
}

type describeStacksResult struct {
	XMLName   xml.Name   `xml:"DescribeStacksResult"`
	Stacks    []cfnStack `xml:"Stacks>member"`
	NextToken string     `xml:",omitempty"`
}

func stackXML(st *Stack) cfnStack {
	return cfnStack{
		StackID:          st.ID,
		StackName:        st.Name,
		Description:      st.Description,
		CreationTime:     awsTime(st.Created),
		LastUpdatedTime:  awsTime(st.LastUpdated),
		StackStatus:      st.Status,
		Capabilities:     []string{"CAPABILITY_IAM"},
		Outputs:          []cfnOutput{{OutputKey: "BucketName", OutputValue: st.Name + "-bucket"}},
		Parameters:       []cfnParameter{{ParameterKey: "Environment", ParameterValue: or(st.Tags["environment"], "dev")}},
		Tags:             tagList(st.Tags),
		DriftInformation: cfnDrift{"NOT_CHECKED"},
	}
}

// findStack looks a stack up by name or ARN in the caller's account and
// region, with CloudFormation's error for a missing stack.
func (s *Server) findStack(c *call) (*Stack, error) {
	name := c.form.Get("StackName")
	if st, ok := s.inv.stackByID[scope{c.account, c.region}][name]; ok {
		return st, nil
	}
	return nil, errorf(http.StatusBadRequest, "ValidationError", "Stack with id %s does not exist", name)
}

func (s *Server) describeStacks(c *call) (any, error) {
	if c.form.Get("StackName") != "" {
		st, err := s.findStack(c)
		if err != nil {
			return nil, err
		}
		return describeStacksResult{Stacks: []cfnStack{stackXML(st)}}, nil
	}
	stacks := s.inv.stacks[scope{c.account, c.region}]
	start, end, next, err := cfnPage(c, len(stacks))
	if err != nil {
		return nil, err
	}
	out := describeStacksResult{NextToken: next}
	for _, st := range stacks[start:end] {
		out.Stacks = append(out.Stacks, stackXML(st))
	}
	return out, nil
}

type getTemplateResult struct {
	XMLName         xml.Name `xml:"GetTemplateResult"`
	TemplateBody    string
	StagesAvailable []string `xml:"StagesAvailable>member"`
}

func (s *Server) getTemplate(c *call) (any, error) {
	st, err := s.findStack(c)
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf(`{"AWSTemplateFormatVersion":"2010-09-09","Description":%q,"Resources":{"Bucket":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":%q}}}}`,
		st.Description, st.Name+"-bucket")
	return getTemplateResult{TemplateBody: body, StagesAvailable: []string{"Original", "Processed"}}, nil
}

type cfnStackResource struct {
	StackName          string
	StackID            string `xml:"StackId"`
	LogicalResourceID  string `xml:"LogicalResourceId"`
	PhysicalResourceID string `xml:"PhysicalResourceId"`
	ResourceType       string
	Timestamp          string
	ResourceStatus     string
}

type describeStackResourcesResult struct {
	XMLName        xml.Name           `xml:"DescribeStackResourcesResult"`
	StackResources []cfnStackResource `xml:"StackResources>member"`
}

func (s *Server) describeStackResources(c *call) (any, error) {
	st, err := s.findStack(c)
	if err != nil {
		return nil, err
	}
	ts := st.LastUpdated
	if ts.IsZero() {
		ts = st.Created
	}
	return describeStackResourcesResult{StackResources: []cfnStackResource{{
		StackName:          st.Name,
		StackID:            st.ID,
		LogicalResourceID:  "Bucket",
		PhysicalResourceID: st.Name + "-bucket",
		ResourceType:       "AWS::S3::Bucket",
		Timestamp:          awsTime(ts),
		ResourceStatus:     "CREATE_COMPLETE",
	}}}, nil
}
