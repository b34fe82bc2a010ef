module github.com/spoutdev/spout

go 1.26.8

require (
	github.com/agext/levenshtein v1.2.3
	github.com/alecthomas/kong v1.17.0
	github.com/apache/arrow-go/v18 v18.4.1
	github.com/aws/aws-sdk-go-v2 v1.41.9
	github.com/aws/aws-sdk-go-v2/config v1.29.14
	github.com/aws/aws-sdk-go-v2/credentials v1.17.67
	github.com/aws/aws-sdk-go-v2/feature/s3/manager v1.17.75
	github.com/aws/aws-sdk-go-v2/service/cloudformation v1.49.0
	github.com/aws/aws-sdk-go-v2/service/ec2 v1.236.0
	github.com/aws/aws-sdk-go-v2/service/iam v1.31.4
	github.com/aws/aws-sdk-go-v2/service/organizations v1.46.2
	github.com/aws/aws-sdk-go-v2/service/s3 v1.97.3
	github.com/aws/aws-sdk-go-v2/service/sts v1.33.19
	github.com/aws/smithy-go v1.26.0
	github.com/dlclark/regexp2 v1.11.5
	github.com/duckdb/duckdb-go/v2 v2.5.4
	github.com/hashicorp/go-hclog v1.6.3
	github.com/jackc/pgx/v5 v5.12.0
	github.com/johannesboyne/gofakes3 v1.2.0
	github.com/pganalyze/pg_query_go/v6 v6.2.5
	github.com/turbot/steampipe-plugin-aws v1.30.0
	github.com/turbot/steampipe-plugin-sdk/v5 v5.13.1
	github.com/xdg-go/scram v1.4.0
	golang.org/x/sync v0.22.0
	google.golang.org/grpc v1.75.0
	google.golang.org/protobuf v1.36.8
	gopkg.in/yaml.v3 v3.0.1
)

require (
	cel.dev/expr v0.24.0 // indirect
	cloud.google.com/go v0.121.0 // indirect
	cloud.google.com/go/auth v0.16.0 // indirect
	cloud.google.com/go/auth/oauth2adapt v0.2.8 // indirect
	cloud.google.com/go/compute/metadata v0.7.0 // indirect
	cloud.google.com/go/iam v1.5.0 // indirect
	cloud.google.com/go/monitoring v1.24.0 // indirect
	cloud.google.com/go/storage v1.52.0 // indirect
	github.com/GoogleCloudPlatform/opentelemetry-operations-go/detectors/gcp v1.29.0 // indirect
	github.com/GoogleCloudPlatform/opentelemetry-operations-go/exporter/metric v0.51.0 // indirect
	github.com/GoogleCloudPlatform/opentelemetry-operations-go/internal/resourcemapping v0.51.0 // indirect
	github.com/acarl005/stripansi v0.0.0-20180116102854-5a71ef0e047d // indirect
	github.com/allegro/bigcache/v3 v3.1.0 // indirect
	github.com/andybalholm/brotli v1.2.0 // indirect
	github.com/apache/thrift v0.22.0 // indirect
	github.com/apparentlymart/go-textseg/v15 v15.0.0 // indirect
	github.com/aws/aws-sdk-go v1.44.183 // indirect
	github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream v1.7.8 // indirect
	github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.16.30 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.4.25 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.7.25 // indirect
	github.com/aws/aws-sdk-go-v2/internal/ini v1.8.3 // indirect
	github.com/aws/aws-sdk-go-v2/internal/v4a v1.4.22 // indirect
	github.com/aws/aws-sdk-go-v2/service/accessanalyzer v1.29.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/account v1.16.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/acm v1.33.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/acmpca v1.29.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/amplify v1.21.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/apigateway v1.38.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/apigatewayv2 v1.20.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/appconfig v1.29.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/applicationautoscaling v1.27.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/apprunner v1.28.8 // indirect
	github.com/aws/aws-sdk-go-v2/service/appstream v1.34.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/appsync v1.47.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/athena v1.55.9 // indirect
	github.com/aws/aws-sdk-go-v2/service/auditmanager v1.32.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/autoscaling v1.40.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/backup v1.34.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/batch v1.37.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/bedrock v1.48.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/bedrockagent v1.45.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/budgets v1.41.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudcontrol v1.18.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudfront v1.35.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudsearch v1.22.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudtrail v1.39.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudwatch v1.37.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs v1.35.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/codeartifact v1.26.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/codebuild v1.34.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/codecommit v1.22.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/codedeploy v1.25.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/codepipeline v1.26.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/codestarnotifications v1.22.7 // indirect
	github.com/aws/aws-sdk-go-v2/service/cognitoidentity v1.23.6 // indirect
	github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider v1.36.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/configservice v1.46.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/connect v1.131.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/costexplorer v1.37.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/costoptimizationhub v1.4.7 // indirect
	github.com/aws/aws-sdk-go-v2/service/databasemigrationservice v1.38.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/datasync v1.50.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/dax v1.19.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/directoryservice v1.24.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/dlm v1.24.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/docdb v1.34.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/drs v1.25.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/dynamodb v1.31.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/ecr v1.27.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/ecrpublic v1.23.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/ecs v1.41.7 // indirect
	github.com/aws/aws-sdk-go-v2/service/efs v1.28.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/eks v1.42.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/elasticache v1.38.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk v1.23.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing v1.24.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2 v1.30.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/elasticsearchservice v1.28.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/emr v1.39.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/eventbridge v1.30.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/firehose v1.37.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/fms v1.31.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/fsx v1.43.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/glacier v1.22.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/globalaccelerator v1.23.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/glue v1.78.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/guardduty v1.41.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/health v1.35.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/identitystore v1.23.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/inspector v1.21.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/inspector2 v1.24.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/accept-encoding v1.13.7 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/checksum v1.9.13 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/endpoint-discovery v1.9.8 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/presigned-url v1.13.21 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/s3shared v1.19.21 // indirect
	github.com/aws/aws-sdk-go-v2/service/iot v1.53.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/kafka v1.31.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/kafkaconnect v1.23.6 // indirect
	github.com/aws/aws-sdk-go-v2/service/keyspaces v1.10.8 // indirect
	github.com/aws/aws-sdk-go-v2/service/kinesis v1.27.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/kinesisanalyticsv2 v1.25.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/kinesisvideo v1.23.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/kms v1.31.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/lakeformation v1.31.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/lambda v1.54.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/lightsail v1.37.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/macie2 v1.38.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/mediastore v1.20.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/memorydb v1.19.8 // indirect
	github.com/aws/aws-sdk-go-v2/service/mgn v1.28.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/mq v1.22.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/neptune v1.31.6 // indirect
	github.com/aws/aws-sdk-go-v2/service/networkfirewall v1.38.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/oam v1.10.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/opensearch v1.52.6 // indirect
	github.com/aws/aws-sdk-go-v2/service/pinpoint v1.29.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/pipes v1.11.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/pricing v1.28.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/quicksight v1.64.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/ram v1.25.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/rds v1.77.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/redshift v1.43.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/redshiftserverless v1.17.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/resourceexplorer2 v1.17.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi v1.21.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/rolesanywhere v1.11.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/route53 v1.40.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/route53domains v1.23.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/route53resolver v1.27.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/s3control v1.44.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/s3tables v1.3.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/sagemaker v1.135.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/savingsplans v1.23.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/scheduler v1.8.8 // indirect
	github.com/aws/aws-sdk-go-v2/service/secretsmanager v1.28.6 // indirect
	github.com/aws/aws-sdk-go-v2/service/securityhub v1.47.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/securitylake v1.13.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/serverlessapplicationrepository v1.20.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/servicecatalog v1.28.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/servicediscovery v1.29.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/servicequotas v1.21.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/ses v1.22.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/sesv2 v1.54.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/sfn v1.26.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/shield v1.25.7 // indirect
	github.com/aws/aws-sdk-go-v2/service/simspaceweaver v1.10.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/sns v1.29.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/sqs v1.31.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssm v1.49.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssmincidents v1.30.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/sso v1.25.3 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssoadmin v1.25.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssooidc v1.30.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/support v1.21.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/timestreamwrite v1.25.9 // indirect
	github.com/aws/aws-sdk-go-v2/service/transfer v1.45.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/waf v1.20.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/wafregional v1.21.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/wafv2 v1.48.2 // indirect
	github.com/aws/aws-sdk-go-v2/service/wellarchitected v1.29.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/workspaces v1.38.4 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/bgentry/go-netrc v0.0.0-20140422174119-9fd32a8b3d3d // indirect
	github.com/btubbs/datetime v0.1.1 // indirect
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cncf/xds/go v0.0.0-20250501225837-2ac532fd4443 // indirect
	github.com/danwakefield/fnmatch v0.0.0-20160403171240-cbb64ac3d964 // indirect
	github.com/dgraph-io/ristretto v0.2.0 // indirect
	github.com/duckdb/duckdb-go-bindings v0.1.24 // indirect
	github.com/duckdb/duckdb-go-bindings/darwin-amd64 v0.1.24 // indirect
	github.com/duckdb/duckdb-go-bindings/darwin-arm64 v0.1.24 // indirect
	github.com/duckdb/duckdb-go-bindings/linux-amd64 v0.1.24 // indirect
	github.com/duckdb/duckdb-go-bindings/linux-arm64 v0.1.24 // indirect
	github.com/duckdb/duckdb-go-bindings/windows-amd64 v0.1.24 // indirect
	github.com/duckdb/duckdb-go/arrowmapping v0.0.27 // indirect
	github.com/duckdb/duckdb-go/mapping v0.0.27 // indirect
	github.com/dustin/go-humanize v1.0.1 // indirect
	github.com/eko/gocache/lib/v4 v4.1.6 // indirect
	github.com/eko/gocache/store/bigcache/v4 v4.2.1 // indirect
	github.com/eko/gocache/store/ristretto/v4 v4.2.1 // indirect
	github.com/envoyproxy/go-control-plane/envoy v1.32.4 // indirect
	github.com/envoyproxy/protoc-gen-validate v1.2.1 // indirect
	github.com/fatih/color v1.17.0 // indirect
	github.com/felixge/httpsnoop v1.0.4 // indirect
	github.com/fsnotify/fsnotify v1.7.0 // indirect
	github.com/gertd/go-pluralize v0.2.1 // indirect
	github.com/ghodss/yaml v1.0.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.1 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-viper/mapstructure/v2 v2.4.0 // indirect
	github.com/gocarina/gocsv v0.0.0-20201208093247-67c824bc04d4 // indirect
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/goccy/go-yaml v1.17.1 // indirect
	github.com/golang/mock v1.6.0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/golang/snappy v1.0.0 // indirect
	github.com/google/flatbuffers v25.9.23+incompatible // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/s2a-go v0.1.9 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/googleapis/enterprise-certificate-proxy v0.3.6 // indirect
	github.com/googleapis/gax-go/v2 v2.14.1 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.19.1 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-getter v1.7.9 // indirect
	github.com/hashicorp/go-plugin v1.6.1 // indirect
	github.com/hashicorp/go-safetemp v1.0.0 // indirect
	github.com/hashicorp/go-version v1.7.0 // indirect
	github.com/hashicorp/hcl/v2 v2.20.1 // indirect
	github.com/hashicorp/yamux v0.1.1 // indirect
	github.com/iancoleman/strcase v0.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/klauspost/asmfmt v1.3.2 // indirect
	github.com/klauspost/compress v1.18.2 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	github.com/mattn/go-colorable v0.1.13 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/matttproud/golang_protobuf_extensions v1.0.4 // indirect
	github.com/minio/asm2plan9s v0.0.0-20200509001527-cdd76441f9d8 // indirect
	github.com/minio/c2goasm v0.0.0-20190812172519-36a3d3bbc4f3 // indirect
	github.com/mitchellh/go-homedir v1.1.0 // indirect
	github.com/mitchellh/go-testing-interface v1.14.1 // indirect
	github.com/mitchellh/go-wordwrap v1.0.0 // indirect
	github.com/mitchellh/mapstructure v1.5.0 // indirect
	github.com/oklog/run v1.0.0 // indirect
	github.com/olekukonko/tablewriter v0.0.5 // indirect
	github.com/pierrec/lz4/v4 v4.1.22 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/prometheus/client_golang v1.14.0 // indirect
	github.com/prometheus/client_model v0.6.1 // indirect
	github.com/prometheus/common v0.37.0 // indirect
	github.com/prometheus/procfs v0.8.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/rs/dnscache v0.0.0-20230804202142-fc85eb664529 // indirect
	github.com/ryszard/goskiplist v0.0.0-20150312221310-2dfbae5fcf46 // indirect
	github.com/sethvargo/go-retry v0.2.4 // indirect
	github.com/spiffe/go-spiffe/v2 v2.5.0 // indirect
	github.com/stevenle/topsort v0.2.0 // indirect
	github.com/tkrajina/go-reflector v0.5.6 // indirect
	github.com/turbot/go-kit v1.1.0 // indirect
	github.com/ulikunitz/xz v0.5.15 // indirect
	github.com/xdg-go/stringprep v1.0.4 // indirect
	github.com/zclconf/go-cty v1.14.4 // indirect
	github.com/zeebo/errs v1.4.0 // indirect
	github.com/zeebo/xxh3 v1.0.2 // indirect
	go.opentelemetry.io/auto/sdk v1.1.0 // indirect
	go.opentelemetry.io/contrib/detectors/gcp v1.36.0 // indirect
	go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.60.0 // indirect
	go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.60.0 // indirect
	go.opentelemetry.io/otel v1.37.0 // indirect
	go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc v1.26.0 // indirect
	go.opentelemetry.io/otel/exporters/otlp/otlptrace v1.24.0 // indirect
	go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc v1.24.0 // indirect
	go.opentelemetry.io/otel/metric v1.37.0 // indirect
	go.opentelemetry.io/otel/sdk v1.37.0 // indirect
	go.opentelemetry.io/otel/sdk/metric v1.37.0 // indirect
	go.opentelemetry.io/otel/trace v1.37.0 // indirect
	go.opentelemetry.io/proto/otlp v1.2.0 // indirect
	go.shabbyrobe.org/gocovmerge v0.0.0-20230507111327-fa4f82cfbf4d // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/exp v0.0.0-20251209150349-8475f28825e9 // indirect
	golang.org/x/mod v0.38.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/oauth2 v0.30.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/telemetry v0.0.0-20260708182218-49f421fb7959 // indirect
	golang.org/x/text v0.41.0 // indirect
	golang.org/x/time v0.11.0 // indirect
	golang.org/x/tools v0.48.0 // indirect
	golang.org/x/xerrors v0.0.0-20240903120638-7835f813f4da // indirect
	google.golang.org/api v0.230.0 // indirect
	google.golang.org/genproto v0.0.0-20250303144028-a0af3efb3deb // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20250707201910-8d1bb00bc6a7 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250707201910-8d1bb00bc6a7 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
