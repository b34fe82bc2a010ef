package differential

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/turbot/steampipe-plugin-aws/aws"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/context_key"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

// Curated shapes for the JSON columns Steampipe queries care most about: IAM policy
// documents (raw, and the plugin's own canonical *_std form), security group rules, tags
// and ARN lists. Everything is a function of a seed, so the fixture is deterministic.

var accounts = []string{"123456789012", "210987654321"}

var regions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"}

// statementTemplates are IAM statements as AWS returns them: Action and Resource as a
// string or a list, Principal as "*" or a map, with and without Condition.
func statementTemplates(account, resource string) []obj {
	return []obj{
		{{"Sid", "AllowRead"}, {"Effect", "Allow"}, {"Action", "s3:GetObject"}, {"Resource", resource + "/*"}},
		{{"Effect", "Allow"}, {"Action", []any{"s3:GetObject", "s3:PutObject", "s3:ListBucket"}}, {"Resource", []any{resource, resource + "/*"}}},
		{{"Sid", "PublicAll"}, {"Effect", "Allow"}, {"Principal", "*"}, {"Action", "*"}, {"Resource", "*"}},
		{{"Sid", "DenyInsecureTransport"}, {"Effect", "Deny"}, {"Principal", obj{{"AWS", "*"}}}, {"Action", "s3:*"},
			{"Resource", []any{resource, resource + "/*"}}, {"Condition", obj{{"Bool", obj{{"aws:SecureTransport", "false"}}}}}},
		{{"Effect", "Allow"}, {"Principal", obj{{"AWS", "arn:aws:iam::444455556666:root"}}}, {"Action", "sts:AssumeRole"}},
		{{"Effect", "Allow"}, {"Principal", obj{{"Service", "lambda.amazonaws.com"}}}, {"Action", "sts:AssumeRole"}},
		{{"Sid", "KeyAdmins"}, {"Effect", "Allow"}, {"Principal", obj{{"AWS", []any{"arn:aws:iam::" + account + ":root", "arn:aws:iam::" + account + ":user/alice"}}}},
			{"Action", []any{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"}}, {"Resource", "*"},
			{"Condition", obj{{"StringEquals", obj{{"aws:PrincipalOrgID", "o-a1b2c3d4e5"}}}}}},
		{{"Effect", "Allow"}, {"Action", "iam:PassRole"}, {"Resource", "*"}},
		{{"Effect", "Allow"}, {"Principal", obj{{"Federated", "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"}}},
			{"Action", "sts:AssumeRoleWithWebIdentity"},
			{"Condition", obj{{"StringLike", obj{{"token.actions.githubusercontent.com:sub", "repo:example-org/*"}}}}}},
		{{"Effect", "Allow"}, {"Principal", "*"}, {"Action", "sqs:SendMessage"}, {"Resource", resource},
			{"Condition", obj{{"ArnEquals", obj{{"aws:SourceArn", "arn:aws:sns:us-east-1:" + account + ":alerts"}}}}}},
		{{"Effect", "Allow"}, {"NotAction", "iam:*"}, {"Resource", "*"}},
		{{"Effect", "Allow"}, {"Principal", obj{{"AWS", "*"}}}, {"Action", []any{"s3:GetObject"}}, {"Resource", resource + "/public/*"},
			{"Condition", obj{{"IpAddress", obj{{"aws:SourceIp", []any{"203.0.113.0/24", "198.51.100.7/32"}}}}}}},
		{{"Effect", "Deny"}, {"Action", "*"}, {"Resource", "*"}, {"Condition", obj{{"BoolIfExists", obj{{"aws:MultiFactorAuthPresent", "false"}}}}}},
		{{"Effect", "Allow"}, {"Principal", obj{{"Service", []any{"ec2.amazonaws.com", "ecs-tasks.amazonaws.com"}}}}, {"Action", "sts:AssumeRole"}},
		{{"Effect", "Allow"}, {"Principal", obj{{"AWS", "arn:aws:iam::" + account + ":root"}}}, {"Action", "kms:*"}, {"Resource", "*"}},
	}
}

// policyDoc builds a policy document of one to three statements.
func policyDoc(seed uint64, account, resource string) obj {
	ts := statementTemplates(account, resource)
	n := 1 + int(seed%3)
	var stmts []any
	for k := 0; k < n; k++ {
		stmts = append(stmts, ts[int((seed/3+uint64(k)*7)%uint64(len(ts)))])
	}
	doc := obj{{"Version", "2012-10-17"}}
	if seed%5 == 0 {
		doc = doc.set("Id", fmt.Sprintf("Policy%d", 1000+seed%9000))
	}
	return doc.set("Statement", stmts)
}

var (
	canonOnce sync.Once
	canonTr   *transform.ColumnTransforms
)

// canonical runs the real AWS plugin's policy canonicalisation (the transform behind
// aws_s3_bucket.policy_std) on a raw document: the *_std columns' exact form.
func canonical(doc any) (any, error) {
	canonOnce.Do(func() {
		t := aws.Plugin(context.Background()).TableMap["aws_s3_bucket"]
		for _, c := range t.Columns {
			if c.Name == "policy_std" {
				canonTr = c.Transform
			}
		}
	})
	if canonTr == nil {
		return nil, fmt.Errorf("aws_s3_bucket.policy_std has no transform")
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	item := struct{ Policy string }{string(raw)}
	ctx := context.WithValue(context.Background(), context_key.Logger, hclog.NewNullLogger())
	return canonTr.Execute(ctx, &transform.TransformData{HydrateItem: item, ColumnName: "policy_std"})
}

// ipPermissions builds security group rules in the EC2 API's shape.
func ipPermissions(seed uint64, account string, egress bool) []any {
	if egress {
		all := obj{{"IpProtocol", "-1"}, {"IpRanges", []any{obj{{"CidrIp", "0.0.0.0/0"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}}, {"UserIdGroupPairs", []any{}}}
		if seed%4 == 3 {
			return []any{}
		}
		if seed%4 == 2 {
			return []any{obj{{"FromPort", 443}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "10.0.0.0/8"}, {"Description", "internal https"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}}, {"ToPort", 443}, {"UserIdGroupPairs", []any{}}}}
		}
		return []any{all}
	}
	rules := []obj{
		{{"FromPort", 22}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "0.0.0.0/0"}, {"Description", "ssh from anywhere"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}}, {"ToPort", 22}, {"UserIdGroupPairs", []any{}}},
		{{"FromPort", 443}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "10.0.0.0/8"}}}}, {"Ipv6Ranges", []any{obj{{"CidrIpv6", "::/0"}}}}, {"PrefixListIds", []any{}}, {"ToPort", 443}, {"UserIdGroupPairs", []any{}}},
		{{"IpProtocol", "-1"}, {"IpRanges", []any{}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}},
			{"UserIdGroupPairs", []any{obj{{"GroupId", fmt.Sprintf("sg-%017x", seed%4096)}, {"UserId", account}}}}},
		{{"FromPort", 3389}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "0.0.0.0/0"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}}, {"ToPort", 3389}, {"UserIdGroupPairs", []any{}}},
		{{"FromPort", 0}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "0.0.0.0/0"}}, obj{{"CidrIp", "192.168.0.0/16"}, {"Description", "office"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{}}, {"ToPort", 65535}, {"UserIdGroupPairs", []any{}}},
		{{"FromPort", 5432}, {"IpProtocol", "tcp"}, {"IpRanges", []any{obj{{"CidrIp", "172.16.0.0/12"}}}}, {"Ipv6Ranges", []any{}}, {"PrefixListIds", []any{obj{{"PrefixListId", "pl-63a5400a"}}}}, {"ToPort", 5432}, {"UserIdGroupPairs", []any{}}},
	}
	n := int(seed % 4)
	out := []any{}
	for k := 0; k < n; k++ {
		out = append(out, rules[int((seed/4+uint64(k)*5)%uint64(len(rules)))])
	}
	return out
}
