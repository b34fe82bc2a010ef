package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

var iamActions = map[string]handlerFunc{
	"ListRoles":                   (*Server).listRoles,
	"GetRole":                     (*Server).getRole,
	"ListRolePolicies":            (*Server).listRolePolicies,
	"GetRolePolicy":               (*Server).getRolePolicy,
	"ListAttachedRolePolicies":    (*Server).listAttachedRolePolicies,
	"ListInstanceProfilesForRole": (*Server).listInstanceProfilesForRole,
	"ListUsers":                   (*Server).listUsers,
	"ListPolicies":                (*Server).listPolicies,
	"GetAccountSummary":           (*Server).getAccountSummary,
	"ListAccountAliases":          (*Server).listAccountAliases,
}

// iamPage applies IAM's Marker/MaxItems pagination (default 100 items).
func iamPage(c *call, n int) (start, end int, next string, err error) {
	size, err := intParam(c.form, "MaxItems", 100)
	if err != nil || size < 1 || size > 1000 {
		return 0, 0, "", errorf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000")
	}
	start, end, next, err = paginate(n, c.form.Get("Marker"), size)
	if err != nil {
		return 0, 0, "", errorf(http.StatusBadRequest, "ValidationError", "Invalid Marker")
	}
	return start, end, next, nil
}

type iamRole struct {
	Path                     string
	RoleName                 string
	RoleID                   string `xml:"RoleId"`
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int
	Tags                     []xmlTag `xml:"Tags>member,omitempty"`
	RoleLastUsed             *struct {
		LastUsedDate string
		Region       string
	} `xml:",omitempty"`
}

// roleXML renders a role. IAM returns tags and last use from GetRole only,
// not from ListRoles; the plugin relies on that split (tags hydrate with
// GetRole), so this does too.
func (s *Server) roleXML(r *Role, full bool) iamRole {
	x := iamRole{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleID:                   r.ID,
		Arn:                      r.ARN,
		CreateDate:               awsTime(r.Created),
		AssumeRolePolicyDocument: encodePolicy(r.AssumeRolePolicy),
		Description:              r.Description,
		MaxSessionDuration:       3600,
	}
	if full {
		x.Tags = tagList(r.Tags)
		x.RoleLastUsed = &struct {
			LastUsedDate string
			Region       string
		}{awsTime(s.opts.Now.Add(-24 * 3600e9)), s.opts.Regions[0]}
	}
	return x
}

type listRolesResult struct {
	XMLName     xml.Name  `xml:"ListRolesResult"`
	Roles       []iamRole `xml:"Roles>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Server) listRoles(c *call) (any, error) {
	prefix := or(c.form.Get("PathPrefix"), "/")
	var roles []*Role
	for _, r := range s.inv.roles[c.account] {
		if strings.HasPrefix(r.Path, prefix) {
			roles = append(roles, r)
		}
	}
	start, end, next, err := iamPage(c, len(roles))
	if err != nil {
		return nil, err
	}
	out := listRolesResult{IsTruncated: next != "", Marker: next}
	for _, r := range roles[start:end] {
		out.Roles = append(out.Roles, s.roleXML(r, false))
	}
	return out, nil
}

func (s *Server) findRole(c *call) (*Role, error) {
	name := c.form.Get("RoleName")
	for _, r := range s.inv.roles[c.account] {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, errorf(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

type getRoleResult struct {
	XMLName xml.Name `xml:"GetRoleResult"`
	Role    iamRole
}

func (s *Server) getRole(c *call) (any, error) {
	r, err := s.findRole(c)
	if err != nil {
		return nil, err
	}
	return getRoleResult{Role: s.roleXML(r, true)}, nil
}

type listRolePoliciesResult struct {
	XMLName     xml.Name `xml:"ListRolePoliciesResult"`
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Server) listRolePolicies(c *call) (any, error) {
	r, err := s.findRole(c)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(r.InlinePolicies)
	start, end, next, err := iamPage(c, len(names))
	if err != nil {
		return nil, err
	}
	return listRolePoliciesResult{PolicyNames: names[start:end], IsTruncated: next != "", Marker: next}, nil
}

type getRolePolicyResult struct {
	XMLName        xml.Name `xml:"GetRolePolicyResult"`
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

func (s *Server) getRolePolicy(c *call) (any, error) {
	r, err := s.findRole(c)
	if err != nil {
		return nil, err
	}
	name := c.form.Get("PolicyName")
	doc, ok := r.InlinePolicies[name]
	if !ok {
		return nil, errorf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return getRolePolicyResult{RoleName: r.Name, PolicyName: name, PolicyDocument: encodePolicy(doc)}, nil
}

type iamAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type listAttachedRolePoliciesResult struct {
	XMLName          xml.Name            `xml:"ListAttachedRolePoliciesResult"`
	AttachedPolicies []iamAttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

func (s *Server) listAttachedRolePolicies(c *call) (any, error) {
	r, err := s.findRole(c)
	if err != nil {
		return nil, err
	}
	start, end, next, err := iamPage(c, len(r.AttachedPolicyARNs))
	if err != nil {
		return nil, err
	}
	out := listAttachedRolePoliciesResult{IsTruncated: next != "", Marker: next}
	for _, arn := range r.AttachedPolicyARNs[start:end] {
		out.AttachedPolicies = append(out.AttachedPolicies, iamAttachedPolicy{PolicyName: arn[strings.LastIndex(arn, "/")+1:], PolicyArn: arn})
	}
	return out, nil
}

type iamInstanceProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileID   string `xml:"InstanceProfileId"`
	Arn                 string
	CreateDate          string
	Roles               []iamRole `xml:"Roles>member"`
}

type listInstanceProfilesForRoleResult struct {
	XMLName          xml.Name             `xml:"ListInstanceProfilesForRoleResult"`
	InstanceProfiles []iamInstanceProfile `xml:"InstanceProfiles>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

func (s *Server) listInstanceProfilesForRole(c *call) (any, error) {
	r, err := s.findRole(c)
	if err != nil {
		return nil, err
	}
	out := listInstanceProfilesForRoleResult{}
	if r.InstanceProfileName != "" {
		out.InstanceProfiles = []iamInstanceProfile{{
			Path:                r.Path,
			InstanceProfileName: r.InstanceProfileName,
			InstanceProfileID:   "AIPA" + hashID(r.ARN+"profile", 17),
			Arn:                 fmt.Sprintf("arn:aws:iam::%s:instance-profile%s%s", r.Account, r.Path, r.InstanceProfileName),
			CreateDate:          awsTime(r.Created),
			Roles:               []iamRole{s.roleXML(r, false)},
		}}
	}
	return out, nil
}

type iamUser struct {
	Path       string
	UserName   string
	UserID     string `xml:"UserId"`
	Arn        string
	CreateDate string
}

type listUsersResult struct {
	XMLName     xml.Name  `xml:"ListUsersResult"`
	Users       []iamUser `xml:"Users>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Server) listUsers(c *call) (any, error) {
	prefix := or(c.form.Get("PathPrefix"), "/")
	var users []*User
	for _, u := range s.inv.users[c.account] {
		if strings.HasPrefix(u.Path, prefix) {
			users = append(users, u)
		}
	}
	start, end, next, err := iamPage(c, len(users))
	if err != nil {
		return nil, err
	}
	out := listUsersResult{IsTruncated: next != "", Marker: next}
	for _, u := range users[start:end] {
		out.Users = append(out.Users, iamUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: awsTime(u.Created)})
	}
	return out, nil
}

type iamPolicy struct {
	PolicyName       string
	PolicyID         string `xml:"PolicyId"`
	Arn              string
	Path             string
	DefaultVersionID string `xml:"DefaultVersionId"`
	AttachmentCount  int
	IsAttachable     bool
	CreateDate       string
	UpdateDate       string
}

type listPoliciesResult struct {
	XMLName     xml.Name    `xml:"ListPoliciesResult"`
	Policies    []iamPolicy `xml:"Policies>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Server) listPolicies(c *call) (any, error) {
	scopeParam := or(c.form.Get("Scope"), "All")
	if !slices.Contains([]string{"All", "AWS", "Local"}, scopeParam) {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scopeParam)
	}
	onlyAttached := c.form.Get("OnlyAttached") == "true"
	prefix := or(c.form.Get("PathPrefix"), "/")

	// Attachment counts come from the account's roles.
	attached := map[string]int{}
	for _, r := range s.inv.roles[c.account] {
		for _, arn := range r.AttachedPolicyARNs {
			attached[arn]++
		}
	}
	var all []iamPolicy
	if scopeParam != "Local" {
		for _, name := range awsManagedPolicies {
			arn := "arn:aws:iam::aws:policy/" + name
			all = append(all, iamPolicy{PolicyName: name, PolicyID: "ANPA" + hashID(arn, 17), Arn: arn, Path: "/",
				CreateDate: awsTime(s.opts.Now.Add(-3000 * 24 * 3600e9)), UpdateDate: awsTime(s.opts.Now.Add(-30 * 24 * 3600e9))})
		}
	}
	if scopeParam != "AWS" {
		for _, p := range s.inv.policies[c.account] {
			all = append(all, iamPolicy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: p.Path,
				CreateDate: awsTime(p.Created), UpdateDate: awsTime(p.Created)})
		}
	}
	var policies []iamPolicy
	for _, p := range all {
		p.DefaultVersionID, p.IsAttachable, p.AttachmentCount = "v1", true, attached[p.Arn]
		if strings.HasPrefix(p.Path, prefix) && (!onlyAttached || p.AttachmentCount > 0) {
			policies = append(policies, p)
		}
	}
	start, end, next, err := iamPage(c, len(policies))
	if err != nil {
		return nil, err
	}
	return listPoliciesResult{Policies: policies[start:end], IsTruncated: next != "", Marker: next}, nil
}

type summaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type getAccountSummaryResult struct {
	XMLName    xml.Name       `xml:"GetAccountSummaryResult"`
	SummaryMap []summaryEntry `xml:"SummaryMap>entry"`
}

func (s *Server) getAccountSummary(c *call) (any, error) {
	profiles := 0
	for _, r := range s.inv.roles[c.account] {
		if r.InstanceProfileName != "" {
			profiles++
		}
	}
	return getAccountSummaryResult{SummaryMap: []summaryEntry{
		{"AccountMFAEnabled", 1},
		{"Groups", 0},
		{"InstanceProfiles", profiles},
		{"Policies", len(s.inv.policies[c.account])},
		{"Roles", len(s.inv.roles[c.account])},
		{"Users", len(s.inv.users[c.account])},
		{"UsersQuota", 5000},
		{"RolesQuota", 1000},
		{"PoliciesQuota", 1500},
	}}, nil
}

type listAccountAliasesResult struct {
	XMLName        xml.Name `xml:"ListAccountAliasesResult"`
	AccountAliases []string `xml:"AccountAliases>member"`
	IsTruncated    bool
}

func (s *Server) listAccountAliases(c *call) (any, error) {
	out := listAccountAliasesResult{AccountAliases: []string{}}
	for _, a := range s.inv.Accounts {
		if a.ID == c.account && a.Alias != "" {
			out.AccountAliases = append(out.AccountAliases, a.Alias)
		}
	}
	return out, nil
}
