package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
)

var organizationsActions = map[string]handlerFunc{
	"ListAccounts":         (*Server).listAccounts,
	"DescribeOrganization": (*Server).describeOrganization,
}

// orgAccount is the JSON shape of an Organizations account; timestamps are
// epoch seconds in the JSON protocols.
type orgAccount struct {
	ID              string `json:"Id"`
	Arn             string
	Email           string
	Name            string
	Status          string
	State           string
	JoinedMethod    string
	JoinedTimestamp int64
}

func (s *Server) organizationID() string {
	return "o-" + hashHex(s.managementAccount(), 10)
}

func (s *Server) accountARN(id string) string {
	return fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", s.managementAccount(), s.organizationID(), id)
}

func (s *Server) listAccounts(c *call) (any, error) {
	// Only the management account (or a delegated administrator, which the
	// fake has none of) may list the organization's accounts.
	if c.account != s.managementAccount() {
		return nil, errorf(http.StatusBadRequest, "AccessDeniedException", "You don't have permissions to access this resource.")
	}
	var in struct {
		NextToken  string
		MaxResults int
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errorf(http.StatusBadRequest, "SerializationException", "%v", err)
		}
	}
	size := in.MaxResults
	if size == 0 {
		size = 20
	}
	if size < 1 || size > 20 {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "MaxResults must be between 1 and 20")
	}
	start, end, next, err := paginate(len(s.inv.Accounts), in.NextToken, size)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidInputException", "You specified an invalid value for nextToken.")
	}
	out := struct {
		Accounts  []orgAccount
		NextToken string `json:",omitempty"`
	}{Accounts: []orgAccount{}, NextToken: next}
	for _, a := range s.inv.Accounts[start:end] {
		method := "INVITED"
		if !a.Management {
			method = "CREATED"
		}
		out.Accounts = append(out.Accounts, orgAccount{
			ID:              a.ID,
			Arn:             s.accountARN(a.ID),
			Email:           a.Email,
			Name:            a.Name,
			Status:          "ACTIVE",
			State:           "ACTIVE",
			JoinedMethod:    method,
			JoinedTimestamp: a.Joined.Unix(),
		})
	}
	return out, nil
}

func (s *Server) describeOrganization(c *call) (any, error) {
	mgmt := s.inv.Accounts[0]
	type policyType struct{ Type, Status string }
	return map[string]any{
		"Organization": map[string]any{
			"Id":                   s.organizationID(),
			"Arn":                  fmt.Sprintf("arn:aws:organizations::%s:organization/%s", mgmt.ID, s.organizationID()),
			"FeatureSet":           "ALL",
			"MasterAccountArn":     s.accountARN(mgmt.ID),
			"MasterAccountId":      mgmt.ID,
			"MasterAccountEmail":   mgmt.Email,
			"AvailablePolicyTypes": []policyType{{"SERVICE_CONTROL_POLICY", "ENABLED"}},
		},
	}, nil
}
