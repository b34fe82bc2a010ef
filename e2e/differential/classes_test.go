package differential

import "strings"

// Every mismatch the differential test finds, by cause. Each class has a minimal
// reproduction that needs no table (TestMismatchReproductions runs them all in both
// engines) and the corpus queries it explains. A query may have more than one cause.
// These are findings about the engine, not about the harness: each is either a compat
// rule still to write or a documented limitation.

type classDef struct {
	name  string
	why   string
	repro string
	ids   []string
}

var mismatchClasses = []classDef{
	{
		name:  "interval literal with a unit field",
		why:   "interval '30' day (SQL-standard unit after the string) reaches DuckDB as '30'::interval(8), which fails: Could not convert string '30' to INTERVAL",
		repro: `select timestamptz '2025-06-30 12:00:00+00' - interval '30' day as t`,
		ids: []string{"aws_amplify_app.md#2", "aws_amplify_app.md#3", "aws_appstream_fleet.md#4", "aws_directory_service_certificate.md#4",
			"aws_ec2_client_vpn_endpoint.md#3", "aws_ec2_client_vpn_endpoint.md#4", "aws_ec2_instance.md#4", "aws_ec2_launch_template_version.md#3",
			"aws_ecr_image.md#4", "aws_ecr_image.md#5", "aws_inspector2_finding.md#4", "aws_inspector_finding.md#4", "aws_lightsail_bucket.md#4",
			"aws_rds_db_instance.md#10", "aws_securityhub_finding.md#6", "aws_securityhub_finding.md#9", "aws_securityhub_standards_control.md#5",
			"aws_service_discovery_namespace.md#4", "aws_service_discovery_service.md#4"},
	},
	{
		name:  "error of an ORDER BY query reported as context canceled",
		why:   "when the SQL engine fails a query with a top-level ORDER BY, Engine.Query cancels the query context before translating the error, so the caller sees 'context canceled' instead of the cause",
		repro: `select x from (values (timestamptz '2025-06-30 12:00:00+00' - interval '30' day)) v(x) order by x`,
		ids:   []string{"aws_amplify_app.md#2", "aws_amplify_app.md#3"},
	},
	{
		name:  "ORDER BY ... DESC puts NULLs last",
		why:   "Postgres sorts NULL as larger than any value: first under DESC, last under ASC; DuckDB puts NULLs last in both directions unless NULLS FIRST/LAST is written",
		repro: `select x from (values (1), (null), (2)) v(x) order by x desc`,
		ids: []string{"aws_codebuild_fleet.md#3", "aws_connect_instance.md#8", "aws_directory_service_certificate.md#8",
			"aws_ec2_spot_fleet_request.md#9", "aws_inspector2_finding.md#11", "aws_keyspaces_table.md#4", "aws_rds_db_recommendation.md#4",
			"aws_savingsplans_savings_plan.md#1", "aws_savingsplans_savings_plan.md#2", "aws_savingsplans_savings_plan.md#3"},
	},
	{
		name:  "window ORDER BY ... DESC puts NULLs last",
		why:   "the same NULL ordering inside OVER (... ORDER BY x DESC): rank(), lag() and friends see a different row order",
		repro: `select x, rank() over (order by x desc) as rank from (values (1), (null), (2)) v(x) order by x nulls last`,
		ids:   []string{"aws_cost_by_service_monthly.md#5", "aws_cost_by_service_monthly.md#6"},
	},
	{
		name:  "money is a number",
		why:   "::money maps to double; Postgres's money is text-like output with currency symbol and grouping ('$1,234.50')",
		repro: `select 1234.5::numeric::money as m`,
		ids: []string{"aws_cost_by_service_monthly.md#1", "aws_cost_by_service_monthly.md#2", "aws_cost_by_service_monthly.md#3",
			"aws_cost_by_service_monthly.md#4", "aws_cost_by_service_monthly.md#5", "aws_cost_by_service_monthly.md#6"},
	},
	{
		name:  "jsonb_pretty layout",
		why:   "jsonb_pretty is json_pretty: keys stay in the stored text's order (Postgres prints jsonb order: shorter keys first, then bytewise) and empty containers print as [] / {} (Postgres: \"[\\n]\" / \"{\\n}\")",
		repro: `select jsonb_pretty('{"Status": "A", "AttributeId": "x", "e": []}'::jsonb) as p`,
		ids: []string{"aws_cloudtrail_trail_event.md#3", "aws_cloudtrail_trail_event.md#4", "aws_cloudtrail_trail_event.md#5",
			"aws_cloudtrail_trail_event.md#6", "aws_cloudtrail_trail_event.md#7", "aws_cloudtrail_trail_event.md#8", "aws_cloudtrail_trail_event.md#9",
			"aws_inspector_finding.md#5", "aws_secretsmanager_secret.md#5", "aws_vpc_endpoint_service.md#6", "aws_vpc_peering_connection.md#3",
			"aws_vpc_peering_connection.md#4", "aws_vpc_peering_connection.md#6"},
	},
	{
		name:  "->> of an object or array: text layout",
		why:   "x ->> 'k' on an object/array value returns the stored JSON text, compact and in source key order; Postgres returns jsonb's text: ', ' and ': ' separators, jsonb key order",
		repro: `select '{"c": {"b": 1, "a": [1, 2]}}'::jsonb ->> 'c' as c`,
		ids:   []string{"aws_ecr_image.md#6", "aws_s3_bucket.md#8", "aws_vpc_security_group.md#1"},
	},
	{
		name:  "jsonb ? on NULL is false",
		why:   "spout_jsonb_exists(NULL, k) is false, Postgres's NULL ? k is NULL, so NOT (tags ? 'k') keeps the rows whose tags are NULL",
		repro: `select not (null::jsonb ? 'k') as r`,
		ids:   []string{"aws_acm_certificate.md#4", "aws_api_gateway_rest_api.md#3", "aws_ec2_instance.md#5", "aws_sns_topic.md#3"},
	},
	{
		name:  "string_to_array in FROM is unnested",
		why:   "FROM string_to_array(p, ':') AS pa is a scalar function in FROM: Postgres yields one row whose pa is the text[]; the rule rewrites it to unnest, so pa is each element and pa[5] a character",
		repro: `select pa[2] as second from string_to_array('arn:aws:iam', ':') as pa`,
		ids:   []string{"aws_api_gateway_rest_api.md#4", "aws_s3_bucket.md#10", "aws_sqs_queue.md#8"},
	},
	{
		name:  "LIKE without backslash escape",
		why:   "Postgres's LIKE treats \\ as the escape character by default; DuckDB's LIKE has no escape character unless ESCAPE is given",
		repro: `select '{ "M" }' like '{ \"M\" }' as m`,
		ids:   []string{"aws_lambda_event_source_mapping.md#7"},
	},
	{
		name:  "cast error on a row the WHERE excludes",
		why:   "body::jsonb inside jsonb_array_elements(...) in FROM is evaluated for every row before the WHERE filters; Postgres pushes the filter below the function and never casts the rows it excludes",
		repro: `select b from (values ('x', 'not json'), ('y', '[1]')) v(k, body), jsonb_array_elements(body::jsonb) as b where k = 'y'`,
		ids:   []string{"aws_s3_object.md#13"},
	},
}

// mismatchClass names why a query's answers differ: the classes that list it, else the
// comparison's own kind.
func mismatchClass(o outcome) string {
	var names []string
	for _, c := range mismatchClasses {
		for _, id := range c.ids {
			if id == o.id {
				names = append(names, c.name)
			}
		}
	}
	if len(names) == 0 {
		return "unclassified: " + o.kind
	}
	return strings.Join(names, " + ")
}
