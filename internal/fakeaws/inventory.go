package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Inventory is the seeded data a Server answers from.
type Inventory struct {
	Now            time.Time // the clock the fixtures are relative to
	Accounts       []Account
	Regions        []string
	Stacks         []Stack
	Instances      []Instance
	Vpcs           []Vpc
	SecurityGroups []SecurityGroup
	Buckets        []Bucket // current buckets, including ones created through the API
	Roles          []Role
	Users          []User
	Policies       []Policy // customer-managed policies
}

// Account is a member of the fake organization.
type Account struct {
	ID         string
	Name       string
	Email      string
	Alias      string // the IAM account alias
	Management bool
	Joined     time.Time
}

// Stack is a CloudFormation stack.
type Stack struct {
	ID          string // the stack ARN
	Name        string
	Account     string
	Region      string
	Status      string
	Description string
	Created     time.Time
	LastUpdated time.Time // zero if the stack was never updated
	Tags        map[string]string
}

// Instance is an EC2 instance.
type Instance struct {
	ID               string
	Account          string
	Region           string
	Type             string
	State            string // running or stopped
	ImageID          string
	VpcID            string
	SubnetID         string
	AvailabilityZone string
	PrivateIP        string
	PublicIP         string // empty unless running with a public address
	LaunchTime       time.Time
	SecurityGroupIDs []string
	Tags             map[string]string
}

// Vpc is the one VPC of each account and region.
type Vpc struct {
	ID        string
	Account   string
	Region    string
	CidrBlock string
	IsDefault bool
	Tags      map[string]string
}

// SecurityGroup is an EC2 security group.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	Account     string
	Region      string
	VpcID       string
	Tags        map[string]string
}

// Bucket is an S3 bucket and the configuration the AWS plugin reads.
type Bucket struct {
	Name    string
	Account string
	Region  string
	Created time.Time
	// Public is true when Policy grants access to Principal "*".
	Public bool
	// Policy is the bucket policy JSON; empty means NoSuchBucketPolicy.
	Policy string
	// BlockPublicAccess is the public access block (all four flags alike);
	// nil means NoSuchPublicAccessBlockConfiguration.
	BlockPublicAccess *bool
	// Tags is the tag set; nil means NoSuchTagSet.
	Tags map[string]string
}

// Role is an IAM role.
type Role struct {
	Name                string
	ID                  string
	ARN                 string
	Account             string
	Path                string
	Description         string
	Created             time.Time
	AssumeRolePolicy    string // JSON, not URL-encoded
	AttachedPolicyARNs  []string
	InlinePolicies      map[string]string // policy name -> JSON document
	InstanceProfileName string            // empty if the role has no instance profile
	Tags                map[string]string
}

// User is an IAM user.
type User struct {
	Name    string
	ID      string
	ARN     string
	Account string
	Path    string
	Created time.Time
}

// Policy is a customer-managed IAM policy.
type Policy struct {
	Name    string
	ID      string
	ARN     string
	Account string
	Path    string
	Created time.Time
}

// awsManagedPolicies are answered for ListPolicies with Scope All or AWS.
var awsManagedPolicies = []string{"AdministratorAccess", "ReadOnlyAccess", "ViewOnlyAccess", "SecurityAudit"}

// Tag vocabulary. Fixtures are "partly compliant": each of environment,
// department and service is missing on some resources, and a few
// environment values are off-vocabulary, so tag-compliance queries have
// something to find.
var (
	tagEnvironments = []string{"prod", "staging", "dev"}
	offEnvironments = []string{"Production", "test"}
	tagDepartments  = []string{"engineering", "finance", "marketing", "operations"}
	tagServices     = []string{"billing", "search", "auth", "checkout", "catalog", "reporting"}
	instanceTypes   = []string{"t3.micro", "t3.small", "m5.large", "c5.xlarge", "r5.large"}
	stackStatuses   = []string{"UPDATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
)

// inventory is the server's immutable fixture set plus indexes by scope.
type inventory struct {
	Inventory

	stacks    map[scope][]*Stack
	stackByID map[scope]map[string]*Stack // by name and by ARN
	instances map[scope][]*Instance
	instByID  map[string]*Instance
	vpcs      map[scope][]*Vpc
	sgs       map[scope][]*SecurityGroup
	roles     map[string][]*Role // by account
	users     map[string][]*User
	policies  map[string][]*Policy
	buckets   []Bucket // the seed; the live registry is Server.buckets
}

// scope is an account and a region.
type scope struct{ account, region string }

func buildInventory(o Options) *inventory {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	inv := &inventory{
		stacks:    map[scope][]*Stack{},
		stackByID: map[scope]map[string]*Stack{},
		instances: map[scope][]*Instance{},
		instByID:  map[string]*Instance{},
		vpcs:      map[scope][]*Vpc{},
		sgs:       map[scope][]*SecurityGroup{},
		roles:     map[string][]*Role{},
		users:     map[string][]*User{},
		policies:  map[string][]*Policy{},
	}
	inv.Now = o.Now
	inv.Regions = slices.Clone(o.Regions)
	day := 24 * time.Hour

	for i, id := range o.Accounts {
		a := Account{
			ID:         id,
			Name:       fmt.Sprintf("workload-%d", i),
			Management: i == 0,
			Joined:     o.Now.Add(-time.Duration(700-i%700) * day),
		}
		if a.Management {
			a.Name = "management"
		}
		a.Email = fmt.Sprintf("aws+%s@example.com", id)
		a.Alias = fmt.Sprintf("fake-%s", a.Name)
		inv.Accounts = append(inv.Accounts, a)
	}

	// Networking: one VPC, one subnet per zone and two security groups per
	// account and region, so instances have something to point at.
	vpcOf := map[scope]Vpc{}
	sgsOf := map[scope][]string{}
	for _, acct := range o.Accounts {
		for ri, region := range o.Regions {
			vpc := Vpc{
				ID:        "vpc-" + hexID(rng, 17),
				Account:   acct,
				Region:    region,
				CidrBlock: fmt.Sprintf("10.%d.0.0/16", ri%256),
				IsDefault: true,
				Tags:      map[string]string{"Name": "default"},
			}
			inv.Vpcs = append(inv.Vpcs, vpc)
			vpcOf[scope{acct, region}] = vpc
			for _, name := range []string{"default", "web"} {
				g := SecurityGroup{
					ID:          "sg-" + hexID(rng, 17),
					Name:        name,
					Description: name + " security group",
					Account:     acct,
					Region:      region,
					VpcID:       vpc.ID,
					Tags:        map[string]string{},
				}
				inv.SecurityGroups = append(inv.SecurityGroups, g)
				sgsOf[scope{acct, region}] = append(sgsOf[scope{acct, region}], g.ID)
			}
		}
	}

	pickScope := func() (string, string) {
		return o.Accounts[rng.IntN(len(o.Accounts))], o.Regions[rng.IntN(len(o.Regions))]
	}

	for i := range o.Stacks {
		acct, region := pickScope()
		tags := complianceTags(rng)
		svc := tags["service"]
		if svc == "" {
			svc = "app"
		}
		name := fmt.Sprintf("%s-stack-%05d", svc, i)
		created := o.Now.Add(-time.Duration(200+rng.IntN(400))*day - time.Duration(rng.IntN(86400))*time.Second)
		st := Stack{
			ID:          fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", region, acct, name, uuid(rng)),
			Name:        name,
			Account:     acct,
			Region:      region,
			Status:      "CREATE_COMPLETE",
			Description: fmt.Sprintf("%s resources", svc),
			Created:     created,
			Tags:        tags,
		}
		// Nine in ten stacks were updated, spread over the last ~200 days.
		if rng.IntN(10) != 0 {
			st.LastUpdated = o.Now.Add(-time.Duration(rng.IntN(200*86400)) * time.Second)
			st.Status = stackStatuses[rng.IntN(len(stackStatuses))]
		}
		inv.Stacks = append(inv.Stacks, st)
	}

	for range o.Instances {
		acct, region := pickScope()
		vpc := vpcOf[scope{acct, region}]
		zone := region + string(rune('a'+rng.IntN(2)))
		in := Instance{
			ID:               "i-" + hexID(rng, 17),
			Account:          acct,
			Region:           region,
			Type:             instanceTypes[rng.IntN(len(instanceTypes))],
			State:            "running",
			ImageID:          "ami-" + hexID(rng, 17),
			VpcID:            vpc.ID,
			SubnetID:         "subnet-" + hashHex(vpc.ID+zone, 17),
			AvailabilityZone: zone,
			PrivateIP:        fmt.Sprintf("10.%d.%d.%d", slices.Index(o.Regions, region)%256, rng.IntN(256), 1+rng.IntN(254)),
			LaunchTime:       o.Now.Add(-time.Duration(rng.IntN(400*86400)) * time.Second),
			SecurityGroupIDs: slices.Clone(sgsOf[scope{acct, region}][:1+rng.IntN(2)]),
			Tags:             complianceTags(rng),
		}
		if rng.IntN(5) == 0 {
			in.State = "stopped"
		} else if rng.IntN(2) == 0 {
			in.PublicIP = fmt.Sprintf("54.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
		}
		in.Tags["Name"] = fmt.Sprintf("%s-%s", or(in.Tags["service"], "app"), in.ID[2:8])
		inv.Instances = append(inv.Instances, in)
	}

	for i := range o.Buckets {
		acct, region := pickScope()
		b := Bucket{
			Name:    fmt.Sprintf("fakeaws-%s-%s-%04d", acct, region, i),
			Account: acct,
			Region:  region,
			Created: o.Now.Add(-time.Duration(rng.IntN(900*86400)) * time.Second),
		}
		arn := "arn:aws:s3:::" + b.Name
		switch rng.IntN(4) {
		case 0: // public: a policy for Principal "*" and no public access block
			b.Public = true
			b.Policy = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"%s/*"}]}`, arn)
		case 1: // private policy scoped to the account
			b.Policy = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"AccountRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"s3:GetObject","Resource":"%s/*"}]}`, acct, arn)
			b.BlockPublicAccess = ptr(true)
		default: // no policy
			b.BlockPublicAccess = ptr(rng.IntN(3) != 0)
		}
		if rng.IntN(5) != 0 {
			b.Tags = complianceTags(rng)
		}
		inv.buckets = append(inv.buckets, b)
	}

	for _, acct := range o.Accounts {
		// Every account has the role AWS Organizations creates, so AssumeRole
		// into a member's OrganizationAccountAccessRole names a real role.
		inv.Roles = append(inv.Roles, Role{
			Name:               "OrganizationAccountAccessRole",
			Account:            acct,
			Path:               "/",
			Description:        "Organization access",
			Created:            o.Now.Add(-600 * day),
			AssumeRolePolicy:   trustPolicy("AWS", "arn:aws:iam::"+o.Accounts[0]+":root"),
			AttachedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
			Tags:               map[string]string{},
		})
	}
	for i := range o.Roles {
		acct := o.Accounts[rng.IntN(len(o.Accounts))]
		tags := complianceTags(rng)
		r := Role{
			Name:        fmt.Sprintf("%s-role-%04d", or(tags["service"], "app"), i),
			Account:     acct,
			Path:        []string{"/", "/service-role/", "/app/"}[rng.IntN(3)],
			Description: "fixture role",
			Created:     o.Now.Add(-time.Duration(rng.IntN(500*86400)) * time.Second),
			Tags:        tags,
		}
		if rng.IntN(2) == 0 {
			r.AssumeRolePolicy = trustPolicy("Service", "ec2.amazonaws.com")
			r.InstanceProfileName = r.Name
		} else {
			r.AssumeRolePolicy = trustPolicy("AWS", "arn:aws:iam::"+acct+":root")
		}
		if rng.IntN(2) == 0 {
			r.AttachedPolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
		}
		if rng.IntN(3) == 0 {
			r.InlinePolicies = map[string]string{
				"s3-read": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`,
			}
		}
		inv.Roles = append(inv.Roles, r)
	}
	for i := range inv.Roles {
		r := &inv.Roles[i]
		r.ID = "AROA" + hashID(r.Account+r.Name, 17)
		r.ARN = fmt.Sprintf("arn:aws:iam::%s:role%s%s", r.Account, r.Path, r.Name)
	}

	for i := range o.Users {
		acct := o.Accounts[i%len(o.Accounts)]
		name := fmt.Sprintf("user-%04d", i)
		inv.Users = append(inv.Users, User{
			Name:    name,
			ID:      "AIDA" + hashID(acct+name, 17),
			ARN:     fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, name),
			Account: acct,
			Path:    "/",
			Created: o.Now.Add(-time.Duration(rng.IntN(500*86400)) * time.Second),
		})
	}
	for _, acct := range o.Accounts {
		for _, name := range []string{"spout-read", "spout-deploy"} {
			inv.Policies = append(inv.Policies, Policy{
				Name:    name,
				ID:      "ANPA" + hashID(acct+name, 17),
				ARN:     fmt.Sprintf("arn:aws:iam::%s:policy/%s", acct, name),
				Account: acct,
				Path:    "/",
				Created: o.Now.Add(-300 * day),
			})
		}
	}

	inv.index()
	return inv
}

// index builds the per-scope lookups. Slices are final by now, so pointers
// into them stay valid.
func (inv *inventory) index() {
	for i := range inv.Stacks {
		s := &inv.Stacks[i]
		sc := scope{s.Account, s.Region}
		inv.stacks[sc] = append(inv.stacks[sc], s)
		if inv.stackByID[sc] == nil {
			inv.stackByID[sc] = map[string]*Stack{}
		}
		inv.stackByID[sc][s.Name] = s
		inv.stackByID[sc][s.ID] = s
	}
	for i := range inv.Instances {
		in := &inv.Instances[i]
		sc := scope{in.Account, in.Region}
		inv.instances[sc] = append(inv.instances[sc], in)
		inv.instByID[in.ID] = in
	}
	for i := range inv.Vpcs {
		v := &inv.Vpcs[i]
		sc := scope{v.Account, v.Region}
		inv.vpcs[sc] = append(inv.vpcs[sc], v)
	}
	for i := range inv.SecurityGroups {
		g := &inv.SecurityGroups[i]
		sc := scope{g.Account, g.Region}
		inv.sgs[sc] = append(inv.sgs[sc], g)
	}
	for i := range inv.Roles {
		r := &inv.Roles[i]
		inv.roles[r.Account] = append(inv.roles[r.Account], r)
	}
	for i := range inv.Users {
		u := &inv.Users[i]
		inv.users[u.Account] = append(inv.users[u.Account], u)
	}
	for i := range inv.Policies {
		p := &inv.Policies[i]
		inv.policies[p.Account] = append(inv.policies[p.Account], p)
	}
}

// Inventory returns a copy of the fixtures, with the S3 buckets as they are
// now (buckets created or changed through the API included).
func (s *Server) Inventory() Inventory {
	out := s.inv.Inventory
	out.Accounts = slices.Clone(out.Accounts)
	out.Regions = slices.Clone(out.Regions)
	out.Stacks = slices.Clone(out.Stacks)
	for i := range out.Stacks {
		out.Stacks[i].Tags = maps.Clone(out.Stacks[i].Tags)
	}
	out.Instances = slices.Clone(out.Instances)
	for i := range out.Instances {
		out.Instances[i].Tags = maps.Clone(out.Instances[i].Tags)
		out.Instances[i].SecurityGroupIDs = slices.Clone(out.Instances[i].SecurityGroupIDs)
	}
	out.Vpcs = slices.Clone(out.Vpcs)
	out.SecurityGroups = slices.Clone(out.SecurityGroups)
	out.Roles = slices.Clone(out.Roles)
	for i := range out.Roles {
		out.Roles[i].Tags = maps.Clone(out.Roles[i].Tags)
		out.Roles[i].InlinePolicies = maps.Clone(out.Roles[i].InlinePolicies)
		out.Roles[i].AttachedPolicyARNs = slices.Clone(out.Roles[i].AttachedPolicyARNs)
	}
	out.Users = slices.Clone(out.Users)
	out.Policies = slices.Clone(out.Policies)

	s.mu.Lock()
	out.Buckets = make([]Bucket, 0, len(s.buckets))
	for _, b := range s.buckets {
		c := *b
		c.Tags = maps.Clone(b.Tags)
		if b.BlockPublicAccess != nil {
			c.BlockPublicAccess = ptr(*b.BlockPublicAccess)
		}
		out.Buckets = append(out.Buckets, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out.Buckets, func(a, b Bucket) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// complianceTags returns environment/department/service tags, each missing
// one time in five, with an off-vocabulary environment one time in ten.
func complianceTags(rng *rand.Rand) map[string]string {
	tags := map[string]string{}
	if rng.IntN(5) != 0 {
		if rng.IntN(10) == 0 {
			tags["environment"] = offEnvironments[rng.IntN(len(offEnvironments))]
		} else {
			tags["environment"] = tagEnvironments[rng.IntN(len(tagEnvironments))]
		}
	}
	if rng.IntN(5) != 0 {
		tags["department"] = tagDepartments[rng.IntN(len(tagDepartments))]
	}
	if rng.IntN(5) != 0 {
		tags["service"] = tagServices[rng.IntN(len(tagServices))]
	}
	return tags
}

func trustPolicy(kind, principal string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{%q:%q},"Action":"sts:AssumeRole"}]}`, kind, principal)
}

// encodePolicy URL-encodes a policy document the way IAM returns them.
func encodePolicy(doc string) string { return url.QueryEscape(doc) }

const hexDigits = "0123456789abcdef"

func hexID(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[rng.IntN(16)]
	}
	return string(b)
}

// hashHex derives a stable lower-case hex id from s, for ids that must not
// depend on generation order.
func hashHex(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// hashID is hashHex in upper case, the alphabet of IAM unique ids.
func hashID(s string, n int) string { return strings.ToUpper(hashHex(s, n)) }

func uuid(rng *rand.Rand) string {
	h := hexID(rng, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func ptr[T any](v T) *T { return &v }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sortedKeys returns m's keys in order, so responses are deterministic.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
