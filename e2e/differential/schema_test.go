package differential

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/turbot/steampipe-plugin-aws/aws"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

// fixtureTables are the AWS tables the fixture serves: the tables with the most
// single-table documented queries (7 or more each), plus the IAM, KMS, network and storage
// tables whose JSON columns carry the policy documents, rules and ARN lists that Steampipe
// queries dig into, and the partners of the corpus's multi-table queries among them.
var fixtureTables = []string{
	// Most documented single-table queries.
	"aws_securityhub_finding", "aws_inspector2_finding", "aws_ec2_instance", "aws_s3_bucket",
	"aws_bedrock_guardrail", "aws_s3_object", "aws_codebuild_build", "aws_connect_instance",
	"aws_glue_ml_transform", "aws_macie2_finding", "aws_mskconnect_connector",
	"aws_s3_directory_bucket", "aws_connect_instance_attribute", "aws_ec2_spot_fleet_request",
	"aws_rds_db_instance", "aws_securityhub_insight", "aws_sqs_queue", "aws_appstream_fleet",
	"aws_ce_cost_allocation_tags", "aws_cloudtrail_trail_event", "aws_ec2_fleet",
	"aws_ec2_launch_template_version", "aws_ecr_repository", "aws_memorydb_cluster",
	"aws_savingsplans_savings_plan", "aws_servicecatalog_portfolio_share",
	"aws_transfer_connector", "aws_vpc_peering_connection", "aws_appstream_image",
	"aws_codebuild_fleet", "aws_eks_access_policy_association", "aws_elasticsearch_domain",
	"aws_emr_studio", "aws_iam_account_password_policy",
	"aws_inspector2_organization_configuration", "aws_inspector_finding",
	"aws_opensearch_domain", "aws_resource_explorer_search", "aws_scheduler_schedule",
	"aws_securityhub_standards_control", "aws_workspaces_directory", "aws_amplify_app",
	"aws_batch_queue", "aws_bedrock_foundation_model",
	"aws_cloudwatch_metric_statistic_data_point", "aws_codedeploy_deployment_group",
	"aws_cost_by_service_monthly", "aws_directory_service_certificate", "aws_docdb_cluster",
	"aws_docdb_cluster_instance", "aws_drs_source_server", "aws_ebs_snapshot",
	"aws_ec2_client_vpn_endpoint", "aws_ec2_gateway_load_balancer", "aws_elasticache_cluster",
	"aws_glue_job", "aws_keyspaces_table", "aws_lambda_event_source_mapping",
	"aws_lambda_function", "aws_lightsail_bucket", "aws_msk_cluster",
	"aws_networkfirewall_firewall_policy", "aws_rds_db_recommendation",
	"aws_route53_health_check", "aws_route53_record", "aws_service_discovery_namespace",
	"aws_service_discovery_service", "aws_sns_topic", "aws_trusted_advisor_check_result",
	"aws_vpc_block_public_access_options", "aws_vpc_endpoint_service",
	"aws_wellarchitected_answer",
	// Policies, rules, keys and the tables the corpus joins with the ones above.
	"aws_iam_role", "aws_iam_policy", "aws_iam_user", "aws_iam_group",
	"aws_iam_instance_profile", "aws_kms_key", "aws_kms_alias", "aws_vpc_security_group",
	"aws_vpc_security_group_rule", "aws_ebs_volume", "aws_cloudtrail_trail",
	"aws_s3_access_point", "aws_secretsmanager_secret", "aws_vpc_endpoint", "aws_ecr_image",
	"aws_vpc", "aws_vpc_subnet", "aws_elasticache_update_action", "aws_ec2_network_interface",
	"aws_acm_certificate", "aws_api_gateway_rest_api",
}

// column is a fixture column: the real plugin's name and type.
type column struct {
	name string
	typ  proto.ColumnType
}

// realSchemas copies the name and type of every column of the fixture tables from the real
// AWS plugin's table definitions.
func realSchemas() (map[string][]column, error) {
	p := aws.Plugin(context.Background())
	out := map[string][]column{}
	for _, name := range fixtureTables {
		t, ok := p.TableMap[name]
		if !ok {
			return nil, fmt.Errorf("the AWS plugin has no table %s", name)
		}
		seen := map[string]bool{}
		var cols []column
		for _, c := range t.Columns {
			if seen[c.Name] || c.Name == "_ctx" || c.Name == "sp_ctx" || c.Name == "sp_connection_name" {
				continue
			}
			seen[c.Name] = true
			cols = append(cols, column{name: c.Name, typ: c.Type})
		}
		out[name] = cols
	}
	return out, nil
}

// pgType is the column type Steampipe gives a plugin column in Postgres.
func pgType(t proto.ColumnType) string {
	switch t {
	case proto.ColumnType_JSON:
		return "jsonb"
	//lint:ignore SA1019 plugins built with older SDKs still declare DATETIME columns, and the engine reads them as timestamps too
	case proto.ColumnType_TIMESTAMP, proto.ColumnType_DATETIME:
		return "timestamptz"
	case proto.ColumnType_INT:
		return "bigint"
	case proto.ColumnType_DOUBLE:
		return "double precision"
	case proto.ColumnType_BOOL:
		return "boolean"
	case proto.ColumnType_IPADDR, proto.ColumnType_INET:
		return "inet"
	case proto.ColumnType_CIDR:
		return "cidr"
	}
	return "text" // STRING, LTREE
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
