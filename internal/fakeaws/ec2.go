package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

var ec2Actions = map[string]handlerFunc{
	"DescribeRegions":           (*Server).describeRegions,
	"DescribeInstances":         (*Server).describeInstances,
	"DescribeInstanceAttribute": (*Server).describeInstanceAttribute,
	"DescribeInstanceStatus":    (*Server).describeInstanceStatus,
	"GetLaunchTemplateData":     (*Server).getLaunchTemplateData,
	"DescribeSecurityGroups":    (*Server).describeSecurityGroups,
	"DescribeVpcs":              (*Server).describeVpcs,
}

// optionalRegions are listed by DescribeRegions as not opted in, so the
// plugin's opt-in filtering has something to filter.
var optionalRegions = []string{"af-south-1", "ap-east-1", "me-south-1"}

type ec2Region struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	XMLName xml.Name `xml:"DescribeRegionsResponse"`
	ec2Meta
	Regions []ec2Region `xml:"regionInfo>item"`
}

func (s *Server) describeRegions(c *call) (any, error) {
	all, _ := strconv.ParseBool(c.form.Get("AllRegions"))
	var regions []ec2Region
	for _, r := range s.opts.Regions {
		regions = append(regions, ec2Region{RegionName: r, OptInStatus: "opt-in-not-required"})
	}
	if all {
		for _, r := range optionalRegions {
			if !slices.Contains(s.opts.Regions, r) {
				regions = append(regions, ec2Region{RegionName: r, OptInStatus: "not-opted-in"})
			}
		}
	}
	names := indexedList(c.form, "RegionName")
	out := &describeRegionsResponse{}
	for _, r := range regions {
		r.RegionEndpoint = "ec2." + r.RegionName + ".amazonaws.com"
		if len(names) > 0 && !slices.Contains(names, r.RegionName) {
			continue
		}
		ok, err := matchFilters(ec2Filters(c.form), map[string][]string{
			"region-name":   {r.RegionName},
			"endpoint":      {r.RegionEndpoint},
			"opt-in-status": {r.OptInStatus},
		}, nil)
		if err != nil {
			return nil, err
		}
		if ok {
			out.Regions = append(out.Regions, r)
		}
	}
	return out, nil
}

type ec2Instance struct {
	InstanceID     string `xml:"instanceId"`
	ImageID        string `xml:"imageId"`
	State          ec2InstanceState
	PrivateDNSName string `xml:"privateDnsName"`
	DNSName        string `xml:"dnsName"`
	// Reason is always written: the plugin dereferences it unconditionally.
	Reason         string `xml:"reason"`
	AmiLaunchIndex int    `xml:"amiLaunchIndex"`
	InstanceType   string `xml:"instanceType"`
	LaunchTime     string `xml:"launchTime"`
	Placement      struct {
		AvailabilityZone string `xml:"availabilityZone"`
		GroupName        string `xml:"groupName"`
		Tenancy          string `xml:"tenancy"`
	} `xml:"placement"`
	Monitoring struct {
		State string `xml:"state"`
	} `xml:"monitoring"`
	SubnetID           string               `xml:"subnetId"`
	VpcID              string               `xml:"vpcId"`
	PrivateIPAddress   string               `xml:"privateIpAddress"`
	IPAddress          string               `xml:"ipAddress,omitempty"`
	SourceDestCheck    bool                 `xml:"sourceDestCheck"`
	Groups             []ec2GroupIdentifier `xml:"groupSet>item"`
	Architecture       string               `xml:"architecture"`
	RootDeviceType     string               `xml:"rootDeviceType"`
	RootDeviceName     string               `xml:"rootDeviceName"`
	VirtualizationType string               `xml:"virtualizationType"`
	Tags               []ec2Tag             `xml:"tagSet>item"`
	Hypervisor         string               `xml:"hypervisor"`
	EbsOptimized       bool                 `xml:"ebsOptimized"`
	EnaSupport         bool                 `xml:"enaSupport"`
	CPUOptions         struct {
		CoreCount      int `xml:"coreCount"`
		ThreadsPerCore int `xml:"threadsPerCore"`
	} `xml:"cpuOptions"`
	PlatformDetails string `xml:"platformDetails"`
	UsageOperation  string `xml:"usageOperation"`
}

type ec2InstanceState struct {
	XMLName xml.Name `xml:"instanceState"`
	Code    int      `xml:"code"`
	Name    string   `xml:"name"`
}

type ec2GroupIdentifier struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type ec2Reservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []ec2Instance `xml:"instancesSet>item"`
}

type describeInstancesResponse struct {
	XMLName xml.Name `xml:"DescribeInstancesResponse"`
	ec2Meta
	Reservations []ec2Reservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

func (s *Server) describeInstances(c *call) (any, error) {
	ids := indexedList(c.form, "InstanceId")
	if len(ids) > 0 && c.form.Get("MaxResults") != "" {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	all, err := s.instancesFor(c, ids)
	if err != nil {
		return nil, err
	}

	filters := ec2Filters(c.form)
	var matched []*Instance
	for _, in := range all {
		if len(filters) > 0 {
			ok, err := matchFilters(filters, instanceFields(in), in.Tags)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		matched = append(matched, in)
	}
	start, end, next, err := ec2Page(c, len(matched))
	if err != nil {
		return nil, err
	}
	out := &describeInstancesResponse{NextToken: next}
	for _, in := range matched[start:end] {
		out.Reservations = append(out.Reservations, ec2Reservation{
			ReservationID: "r-" + hashHex(in.ID, 17),
			OwnerID:       in.Account,
			Instances:     []ec2Instance{s.instanceXML(c, in)},
		})
	}
	return out, nil
}

func (s *Server) instanceXML(c *call, in *Instance) ec2Instance {
	x := ec2Instance{
		InstanceID:         in.ID,
		ImageID:            in.ImageID,
		State:              ec2InstanceState{Code: 16, Name: in.State},
		PrivateDNSName:     privateDNS(in),
		DNSName:            publicDNS(in),
		InstanceType:       in.Type,
		LaunchTime:         awsTime(in.LaunchTime),
		SubnetID:           in.SubnetID,
		VpcID:              in.VpcID,
		PrivateIPAddress:   in.PrivateIP,
		IPAddress:          in.PublicIP,
		SourceDestCheck:    true,
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     "/dev/xvda",
		VirtualizationType: "hvm",
		Tags:               ec2TagList(in.Tags),
		Hypervisor:         "xen",
		EbsOptimized:       !strings.HasPrefix(in.Type, "t3."),
		EnaSupport:         true,
		PlatformDetails:    "Linux/UNIX",
		UsageOperation:     "RunInstances",
	}
	if in.State == "stopped" {
		// The plugin parses the time out of this reason for
		// state_transition_time.
		x.State.Code = 80
		x.Reason = fmt.Sprintf("User initiated (%s GMT)", in.LaunchTime.Add(48*3600e9).UTC().Format("2006-01-02 15:04:05"))
	}
	x.Placement.AvailabilityZone = in.AvailabilityZone
	x.Placement.Tenancy = "default"
	x.Monitoring.State = "disabled"
	x.CPUOptions.CoreCount, x.CPUOptions.ThreadsPerCore = 1, 2
	for _, id := range in.SecurityGroupIDs {
		x.Groups = append(x.Groups, ec2GroupIdentifier{GroupID: id, GroupName: s.groupName(c, id)})
	}
	return x
}

func (s *Server) groupName(c *call, id string) string {
	for _, g := range s.inv.sgs[scope{c.account, c.region}] {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

func privateDNS(in *Instance) string {
	host := "ip-" + strings.ReplaceAll(in.PrivateIP, ".", "-")
	if in.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + in.Region + ".compute.internal"
}

func publicDNS(in *Instance) string {
	if in.PublicIP == "" {
		return ""
	}
	host := "ec2-" + strings.ReplaceAll(in.PublicIP, ".", "-")
	if in.Region == "us-east-1" {
		return host + ".compute-1.amazonaws.com"
	}
	return host + "." + in.Region + ".compute.amazonaws.com"
}

// instanceFields maps the DescribeInstances filter names (all those the
// plugin's aws_ec2_instance pushes down, and a few more) to an instance's
// values. tag:<key> and tag-key are handled by matchFilters.
func instanceFields(in *Instance) map[string][]string {
	return map[string][]string{
		"instance-id":              {in.ID},
		"instance-state-name":      {in.State},
		"instance-type":            {in.Type},
		"image-id":                 {in.ImageID},
		"vpc-id":                   {in.VpcID},
		"subnet-id":                {in.SubnetID},
		"availability-zone":        {in.AvailabilityZone},
		"private-ip-address":       {in.PrivateIP},
		"ip-address":               {in.PublicIP},
		"dns-name":                 {publicDNS(in)},
		"private-dns-name":         {privateDNS(in)},
		"hypervisor":               {"xen"},
		"monitoring-state":         {"disabled"},
		"root-device-name":         {"/dev/xvda"},
		"root-device-type":         {"ebs"},
		"tenancy":                  {"default"},
		"virtualization-type":      {"hvm"},
		"architecture":             {"x86_64"},
		"instance.group-id":        in.SecurityGroupIDs,
		"iam-instance-profile.arn": nil,
		"instance-lifecycle":       nil,
		"outpost-arn":              nil,
		"placement-group-name":     nil,
		"ramdisk-id":               nil,
	}
}

// matchFilters reports whether an item with the given field values and tags
// passes every filter. Values may use EC2's * and ? wildcards. An unknown
// filter name is an InvalidParameterValue error, as in EC2.
func matchFilters(filters []ec2Filter, fields map[string][]string, tags map[string]string) (bool, error) {
	for _, f := range filters {
		var have []string
		if key, ok := strings.CutPrefix(f.name, "tag:"); ok {
			if v, ok := tags[key]; ok {
				have = []string{v}
			}
		} else if f.name == "tag-key" {
			have = sortedKeys(tags)
		} else if v, ok := fields[f.name]; ok {
			have = v
		} else {
			return false, errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
		if !anyMatch(f.values, have) {
			return false, nil
		}
	}
	return true, nil
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if ok, _ := path.Match(p, v); ok {
				return true
			}
		}
	}
	return false
}

// checkIDs answers EC2's errors for explicitly requested ids: malformed ids
// and ids that do not exist in the caller's account and region.
func checkIDs(ids []string, prefix, code string, exists func(string) bool) error {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix) {
			return errorf(http.StatusBadRequest, code+".Malformed", "Invalid id: \"%s\"", id)
		}
		if !exists(id) {
			return errorf(http.StatusBadRequest, code+".NotFound", "The ID '%s' does not exist", id)
		}
	}
	return nil
}

// ec2Page applies EC2's NextToken/MaxResults pagination: MaxResults is 5 to
// 1000 and defaults to 1000.
func ec2Page(c *call, n int) (start, end int, next string, err error) {
	size, err := intParam(c.form, "MaxResults", 1000)
	if err != nil {
		return 0, 0, "", errorf(http.StatusBadRequest, "InvalidParameterValue", "%v", err)
	}
	if size < 5 || size > 1000 {
		return 0, 0, "", errorf(http.StatusBadRequest, "InvalidParameterValue",
			"Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", size)
	}
	start, end, next, err = paginate(n, c.form.Get("NextToken"), size)
	if err != nil {
		return 0, 0, "", errorf(http.StatusBadRequest, "InvalidParameterValue", "%v", err)
	}
	return start, end, next, nil
}

// instancesFor is the instances named by ids, or every instance in the
// caller's account and region if there are none. Named instances are looked
// up, not scanned for, as the plugin's Get config expects.
func (s *Server) instancesFor(c *call, ids []string) ([]*Instance, error) {
	if len(ids) == 0 {
		return s.inv.instances[scope{c.account, c.region}], nil
	}
	var out []*Instance
	for _, id := range ids {
		in, err := s.findInstance(c, id)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// findInstance looks an instance up in the caller's account and region.
func (s *Server) findInstance(c *call, id string) (*Instance, error) {
	if !strings.HasPrefix(id, "i-") {
		return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
	}
	if in, ok := s.inv.instByID[id]; ok && in.Account == c.account && in.Region == c.region {
		return in, nil
	}
	return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
}

type ec2AttrString struct {
	Value string `xml:"value"`
}

type ec2AttrBool struct {
	Value bool `xml:"value"`
}

type describeInstanceAttributeResponse struct {
	XMLName xml.Name `xml:"DescribeInstanceAttributeResponse"`
	ec2Meta
	InstanceID                        string         `xml:"instanceId"`
	DisableAPITermination             *ec2AttrBool   `xml:"disableApiTermination,omitempty"`
	DisableAPIStop                    *ec2AttrBool   `xml:"disableApiStop,omitempty"`
	InstanceInitiatedShutdownBehavior *ec2AttrString `xml:"instanceInitiatedShutdownBehavior,omitempty"`
	InstanceType                      *ec2AttrString `xml:"instanceType,omitempty"`
	Kernel                            *ec2AttrString `xml:"kernel,omitempty"`
	Ramdisk                           *ec2AttrString `xml:"ramdisk,omitempty"`
	RootDeviceName                    *ec2AttrString `xml:"rootDeviceName,omitempty"`
	SourceDestCheck                   *ec2AttrBool   `xml:"sourceDestCheck,omitempty"`
	SriovNetSupport                   *ec2AttrString `xml:"sriovNetSupport,omitempty"`
	EbsOptimized                      *ec2AttrBool   `xml:"ebsOptimized,omitempty"`
	EnaSupport                        *ec2AttrBool   `xml:"enaSupport,omitempty"`
	UserData                          *ec2AttrString `xml:"userData,omitempty"`
}

func (s *Server) describeInstanceAttribute(c *call) (any, error) {
	in, err := s.findInstance(c, c.form.Get("InstanceId"))
	if err != nil {
		return nil, err
	}
	out := &describeInstanceAttributeResponse{InstanceID: in.ID}
	// Kernel, ramdisk and user data are unset on these instances; EC2 then
	// answers the instance id alone, as here.
	switch a := c.form.Get("Attribute"); a {
	case "disableApiTermination":
		out.DisableAPITermination = &ec2AttrBool{false}
	case "disableApiStop":
		out.DisableAPIStop = &ec2AttrBool{false}
	case "instanceInitiatedShutdownBehavior":
		out.InstanceInitiatedShutdownBehavior = &ec2AttrString{"stop"}
	case "instanceType":
		out.InstanceType = &ec2AttrString{in.Type}
	case "rootDeviceName":
		out.RootDeviceName = &ec2AttrString{"/dev/xvda"}
	case "sourceDestCheck":
		out.SourceDestCheck = &ec2AttrBool{true}
	case "sriovNetSupport":
		out.SriovNetSupport = &ec2AttrString{"simple"}
	case "ebsOptimized":
		out.EbsOptimized = &ec2AttrBool{!strings.HasPrefix(in.Type, "t3.")}
	case "enaSupport":
		out.EnaSupport = &ec2AttrBool{true}
	case "kernel", "ramdisk", "userData", "blockDeviceMapping", "productCodes", "groupSet", "enclaveOptions":
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", a)
	}
	return out, nil
}

type ec2StatusDetail struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type ec2StatusSummary struct {
	Status  string            `xml:"status"`
	Details []ec2StatusDetail `xml:"details>item"`
}

type ec2InstanceStatus struct {
	InstanceID       string           `xml:"instanceId"`
	AvailabilityZone string           `xml:"availabilityZone"`
	State            ec2InstanceState `xml:"instanceState"`
	SystemStatus     ec2StatusSummary `xml:"systemStatus"`
	InstanceStatus   ec2StatusSummary `xml:"instanceStatus"`
}

type describeInstanceStatusResponse struct {
	XMLName xml.Name `xml:"DescribeInstanceStatusResponse"`
	ec2Meta
	Statuses  []ec2InstanceStatus `xml:"instanceStatusSet>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

func (s *Server) describeInstanceStatus(c *call) (any, error) {
	ids := indexedList(c.form, "InstanceId")
	includeAll, _ := strconv.ParseBool(c.form.Get("IncludeAllInstances"))
	matched, err := s.instancesFor(c, ids)
	if err != nil {
		return nil, err
	}
	// Without IncludeAllInstances EC2 reports running instances only.
	if !includeAll {
		matched = slices.DeleteFunc(slices.Clone(matched), func(in *Instance) bool { return in.State != "running" })
	}
	start, end, next, err := ec2Page(c, len(matched))
	if err != nil {
		return nil, err
	}
	out := &describeInstanceStatusResponse{NextToken: next}
	for _, in := range matched[start:end] {
		st := ec2InstanceStatus{
			InstanceID:       in.ID,
			AvailabilityZone: in.AvailabilityZone,
			State:            ec2InstanceState{Code: 16, Name: in.State},
		}
		if in.State == "running" {
			ok := ec2StatusSummary{Status: "ok", Details: []ec2StatusDetail{{Name: "reachability", Status: "passed"}}}
			st.SystemStatus, st.InstanceStatus = ok, ok
		} else {
			st.State.Code = 80
			na := ec2StatusSummary{Status: "not-applicable"}
			st.SystemStatus, st.InstanceStatus = na, na
		}
		out.Statuses = append(out.Statuses, st)
	}
	return out, nil
}

type getLaunchTemplateDataResponse struct {
	XMLName xml.Name `xml:"GetLaunchTemplateDataResponse"`
	ec2Meta
	Data struct {
		ImageID      string `xml:"imageId"`
		InstanceType string `xml:"instanceType"`
		Monitoring   struct {
			Enabled bool `xml:"enabled"`
		} `xml:"monitoring"`
		Placement struct {
			AvailabilityZone string `xml:"availabilityZone"`
			Tenancy          string `xml:"tenancy"`
		} `xml:"placement"`
	} `xml:"launchTemplateData"`
}

func (s *Server) getLaunchTemplateData(c *call) (any, error) {
	in, err := s.findInstance(c, c.form.Get("InstanceId"))
	if err != nil {
		return nil, err
	}
	out := &getLaunchTemplateDataResponse{}
	out.Data.ImageID, out.Data.InstanceType = in.ImageID, in.Type
	out.Data.Placement.AvailabilityZone, out.Data.Placement.Tenancy = in.AvailabilityZone, "default"
	return out, nil
}

type ec2IPRange struct {
	CidrIP string `xml:"cidrIp"`
}

type ec2IPPermission struct {
	IPProtocol string       `xml:"ipProtocol"`
	FromPort   *int         `xml:"fromPort,omitempty"`
	ToPort     *int         `xml:"toPort,omitempty"`
	IPRanges   []ec2IPRange `xml:"ipRanges>item"`
}

type ec2SecurityGroup struct {
	OwnerID          string            `xml:"ownerId"`
	GroupID          string            `xml:"groupId"`
	GroupName        string            `xml:"groupName"`
	GroupDescription string            `xml:"groupDescription"`
	VpcID            string            `xml:"vpcId"`
	SecurityGroupArn string            `xml:"securityGroupArn"`
	Ingress          []ec2IPPermission `xml:"ipPermissions>item"`
	Egress           []ec2IPPermission `xml:"ipPermissionsEgress>item"`
	Tags             []ec2Tag          `xml:"tagSet>item"`
}

type describeSecurityGroupsResponse struct {
	XMLName xml.Name `xml:"DescribeSecurityGroupsResponse"`
	ec2Meta
	Groups    []ec2SecurityGroup `xml:"securityGroupInfo>item"`
	NextToken string             `xml:"nextToken,omitempty"`
}

func (s *Server) describeSecurityGroups(c *call) (any, error) {
	ids := indexedList(c.form, "GroupId")
	names := indexedList(c.form, "GroupName")
	all := s.inv.sgs[scope{c.account, c.region}]
	if err := checkIDs(ids, "sg-", "InvalidGroup", func(id string) bool {
		return slices.ContainsFunc(all, func(g *SecurityGroup) bool { return g.ID == id })
	}); err != nil {
		return nil, err
	}
	filters := ec2Filters(c.form)
	var matched []*SecurityGroup
	for _, g := range all {
		if (len(ids) > 0 && !slices.Contains(ids, g.ID)) || (len(names) > 0 && !slices.Contains(names, g.Name)) {
			continue
		}
		ok, err := matchFilters(filters, map[string][]string{
			"group-id":    {g.ID},
			"group-name":  {g.Name},
			"vpc-id":      {g.VpcID},
			"description": {g.Description},
			"owner-id":    {g.Account},
		}, g.Tags)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, g)
		}
	}
	start, end, next, err := ec2Page(c, len(matched))
	if err != nil {
		return nil, err
	}
	out := &describeSecurityGroupsResponse{NextToken: next}
	for _, g := range matched[start:end] {
		x := ec2SecurityGroup{
			OwnerID:          g.Account,
			GroupID:          g.ID,
			GroupName:        g.Name,
			GroupDescription: g.Description,
			VpcID:            g.VpcID,
			SecurityGroupArn: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", g.Region, g.Account, g.ID),
			Egress:           []ec2IPPermission{{IPProtocol: "-1", IPRanges: []ec2IPRange{{"0.0.0.0/0"}}}},
			Tags:             ec2TagList(g.Tags),
		}
		if g.Name == "web" {
			x.Ingress = []ec2IPPermission{{IPProtocol: "tcp", FromPort: ptr(443), ToPort: ptr(443), IPRanges: []ec2IPRange{{"0.0.0.0/0"}}}}
		}
		out.Groups = append(out.Groups, x)
	}
	return out, nil
}

type ec2Vpc struct {
	VpcID           string   `xml:"vpcId"`
	OwnerID         string   `xml:"ownerId"`
	State           string   `xml:"state"`
	CidrBlock       string   `xml:"cidrBlock"`
	DhcpOptionsID   string   `xml:"dhcpOptionsId"`
	InstanceTenancy string   `xml:"instanceTenancy"`
	IsDefault       bool     `xml:"isDefault"`
	Tags            []ec2Tag `xml:"tagSet>item"`
}

type describeVpcsResponse struct {
	XMLName xml.Name `xml:"DescribeVpcsResponse"`
	ec2Meta
	Vpcs      []ec2Vpc `xml:"vpcSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

func (s *Server) describeVpcs(c *call) (any, error) {
	ids := indexedList(c.form, "VpcId")
	all := s.inv.vpcs[scope{c.account, c.region}]
	if err := checkIDs(ids, "vpc-", "InvalidVpcID", func(id string) bool {
		return slices.ContainsFunc(all, func(v *Vpc) bool { return v.ID == id })
	}); err != nil {
		return nil, err
	}
	filters := ec2Filters(c.form)
	var matched []*Vpc
	for _, v := range all {
		if len(ids) > 0 && !slices.Contains(ids, v.ID) {
			continue
		}
		ok, err := matchFilters(filters, map[string][]string{
			"vpc-id":     {v.ID},
			"cidr":       {v.CidrBlock},
			"cidr-block": {v.CidrBlock},
			"is-default": {strconv.FormatBool(v.IsDefault)},
			"state":      {"available"},
			"owner-id":   {v.Account},
		}, v.Tags)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, v)
		}
	}
	start, end, next, err := ec2Page(c, len(matched))
	if err != nil {
		return nil, err
	}
	out := &describeVpcsResponse{NextToken: next}
	for _, v := range matched[start:end] {
		out.Vpcs = append(out.Vpcs, ec2Vpc{
			VpcID:           v.ID,
			OwnerID:         v.Account,
			State:           "available",
			CidrBlock:       v.CidrBlock,
			DhcpOptionsID:   "dopt-" + hashHex(v.ID, 8),
			InstanceTenancy: "default",
			IsDefault:       v.IsDefault,
			Tags:            ec2TagList(v.Tags),
		})
	}
	return out, nil
}
