package fakeaws_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spoutdev/spout/internal/fakeaws"
)

func TestDescribeRegions(t *testing.T) {
	srv := start(t, fakeaws.Options{Regions: []string{"us-east-1", "eu-west-1"}})
	client := ec2.NewFromConfig(cfg(srv.URL(), "us-east-1", 3))
	ctx := context.Background()

	// What the plugin asks at start-up: every region, with opt-in status.
	out, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range out.Regions {
		status[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
		if aws.ToString(r.Endpoint) != "ec2."+aws.ToString(r.RegionName)+".amazonaws.com" {
			t.Errorf("endpoint %s", aws.ToString(r.Endpoint))
		}
	}
	want := map[string]string{
		"us-east-1": "opt-in-not-required", "eu-west-1": "opt-in-not-required",
		"af-south-1": "not-opted-in", "ap-east-1": "not-opted-in", "me-south-1": "not-opted-in",
	}
	if !maps.Equal(status, want) {
		t.Fatalf("regions = %v", status)
	}

	out, err = client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Regions) != 2 {
		t.Fatalf("enabled regions = %d, want 2", len(out.Regions))
	}
}

func TestDescribeInstancesPaginatesAndFilters(t *testing.T) {
	srv := start(t, fakeaws.Options{Instances: 200, Accounts: []string{mgmt}, Regions: []string{"eu-west-1"}})
	client := ec2.NewFromConfig(cfg(srv.URL(), "eu-west-1", 3))
	ctx := context.Background()
	inv := srv.Inventory()
	byID := map[string]fakeaws.Instance{}
	for _, in := range inv.Instances {
		byID[in.ID] = in
	}

	// The plugin's listing: MaxResults with the SDK paginator.
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(50)})
	seen := map[string]bool{}
	pages := allPages(t, p.HasMorePages, p.NextPage)
	for _, out := range pages {
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				want, ok := byID[aws.ToString(in.InstanceId)]
				if !ok || seen[want.ID] {
					t.Fatalf("unexpected or repeated instance %s", aws.ToString(in.InstanceId))
				}
				seen[want.ID] = true
				if string(in.InstanceType) != want.Type || string(in.State.Name) != want.State ||
					aws.ToString(in.VpcId) != want.VpcID || !aws.ToTime(in.LaunchTime).Equal(want.LaunchTime) ||
					aws.ToString(in.Placement.AvailabilityZone) != want.AvailabilityZone {
					t.Fatalf("instance %s = %+v, want %+v", want.ID, in, want)
				}
				// The plugin dereferences this for every row.
				if in.StateTransitionReason == nil {
					t.Fatalf("instance %s has no StateTransitionReason", want.ID)
				}
				tags := map[string]string{}
				for _, tg := range in.Tags {
					tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if !maps.Equal(tags, want.Tags) {
					t.Fatalf("tags = %v, want %v", tags, want.Tags)
				}
			}
		}
	}
	if len(seen) != 200 || len(pages) != 4 {
		t.Fatalf("listed %d instances in %d pages, want 200 in 4", len(seen), len(pages))
	}

	tests := []struct {
		filters []types.Filter
		want    func(fakeaws.Instance) bool
	}{
		{[]types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}},
			func(in fakeaws.Instance) bool { return in.State == "stopped" }},
		{[]types.Filter{{Name: aws.String("tag:environment"), Values: []string{"prod"}}, {Name: aws.String("instance-type"), Values: []string{"t3.*"}}},
			func(in fakeaws.Instance) bool { return in.Tags["environment"] == "prod" && in.Type[:3] == "t3." }},
		{[]types.Filter{{Name: aws.String("tag-key"), Values: []string{"department"}}},
			func(in fakeaws.Instance) bool { _, ok := in.Tags["department"]; return ok }},
	}
	for i, tt := range tests {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tt.filters})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, in := range inv.Instances {
			if tt.want(in) {
				want++
			}
		}
		if len(out.Reservations) != want || want == 0 {
			t.Errorf("filter %d: %d instances, want %d", i, len(out.Reservations), want)
		}
	}

	_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}})
	apiError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1)})
	apiError(t, err, "InvalidParameterValue", http.StatusBadRequest)
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000000f"}})
	apiError(t, err, "InvalidInstanceID.NotFound", http.StatusBadRequest)

	one := inv.Instances[0]
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{one.ID}})
	if err != nil || len(out.Reservations) != 1 || aws.ToString(out.Reservations[0].Instances[0].InstanceId) != one.ID {
		t.Fatalf("get by id: %v %+v", err, out)
	}
}

// The hydrate calls of aws_ec2_instance's select *.
func TestInstanceHydrateCalls(t *testing.T) {
	srv := start(t, fakeaws.Options{Accounts: []string{mgmt}, Regions: []string{"us-east-1"}})
	client := ec2.NewFromConfig(cfg(srv.URL(), "us-east-1", 3))
	ctx := context.Background()
	inv := srv.Inventory()
	in := inv.Instances[0]

	attr, err := client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(in.ID), Attribute: types.InstanceAttributeNameDisableApiTermination})
	if err != nil || attr.DisableApiTermination == nil || aws.ToBool(attr.DisableApiTermination.Value) {
		t.Fatalf("disableApiTermination: %v %+v", err, attr)
	}
	attr, err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(in.ID), Attribute: types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
	if err != nil || aws.ToString(attr.InstanceInitiatedShutdownBehavior.Value) != "stop" {
		t.Fatalf("shutdown behavior: %v %+v", err, attr)
	}
	attr, err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(in.ID), Attribute: types.InstanceAttributeNameUserData})
	if err != nil || attr.UserData != nil || aws.ToString(attr.InstanceId) != in.ID {
		t.Fatalf("user data: %v %+v", err, attr)
	}

	lt, err := client.GetLaunchTemplateData(ctx, &ec2.GetLaunchTemplateDataInput{InstanceId: aws.String(in.ID)})
	if err != nil || aws.ToString(lt.LaunchTemplateData.ImageId) != in.ImageID || string(lt.LaunchTemplateData.InstanceType) != in.Type {
		t.Fatalf("launch template data: %v %+v", err, lt)
	}

	st, err := client.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{in.ID}, IncludeAllInstances: aws.Bool(true)})
	if err != nil || len(st.InstanceStatuses) != 1 || string(st.InstanceStatuses[0].InstanceState.Name) != in.State {
		t.Fatalf("instance status: %v %+v", err, st)
	}
}

func TestDescribeSecurityGroupsAndVpcs(t *testing.T) {
	srv := start(t, fakeaws.Options{})
	client := ec2.NewFromConfig(cfg(srv.AccountURL(member2), "us-west-2", 3))
	ctx := context.Background()
	inv := srv.Inventory()

	var vpc fakeaws.Vpc
	for _, v := range inv.Vpcs {
		if v.Account == member2 && v.Region == "us-west-2" {
			vpc = v
		}
	}
	vpcs, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].VpcId) != vpc.ID || aws.ToString(vpcs.Vpcs[0].CidrBlock) != vpc.CidrBlock ||
		!aws.ToBool(vpcs.Vpcs[0].IsDefault) || aws.ToString(vpcs.Vpcs[0].OwnerId) != member2 {
		t.Fatalf("vpcs = %+v, want %+v", vpcs.Vpcs, vpc)
	}

	p := ec2.NewDescribeSecurityGroupsPaginator(client, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)})
	var names []string
	for _, out := range allPages(t, p.HasMorePages, p.NextPage) {
		for _, g := range out.SecurityGroups {
			names = append(names, aws.ToString(g.GroupName))
			if aws.ToString(g.VpcId) != vpc.ID {
				t.Errorf("group %s in vpc %s", aws.ToString(g.GroupId), aws.ToString(g.VpcId))
			}
			if aws.ToString(g.GroupName) == "web" && (len(g.IpPermissions) != 1 || aws.ToInt32(g.IpPermissions[0].FromPort) != 443) {
				t.Errorf("web ingress = %+v", g.IpPermissions)
			}
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"default", "web"}) {
		t.Fatalf("groups = %v", names)
	}

	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"web"}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("filtered groups: %v %+v", err, out)
	}
}
