// Package differential is the Postgres-fidelity harness: it runs the AWS plugin's documented
// queries in Spout and in a real PostgreSQL over the same rows and compares the answers.
//
// All of it is test code (go test ./e2e/differential); this file only documents it.
//
//   - Fixture (gen_test.go, policies_test.go, mine_test.go): 93 real AWS tables, their
//     column names and types copied from the AWS plugin's own table definitions, 15
//     deterministic rows each. JSON columns get realistic shapes: IAM policy documents
//     (Action/Resource as a string or a list, Principal as "*" or a map, Condition), their
//     *_std form made by the plugin's own canonicalisation, security group rules, tags maps
//     and tags_src lists, ARN lists. The rest is shaped by the corpus: every JSON path a
//     query walks exists, with the literals the query compares it to on some rows and
//     other values on others; joined columns share values; text columns the corpus casts
//     hold text of that type. Some NULLs, empty arrays and objects, booleans both ways,
//     timestamps over the year before a fixed day.
//   - Spout side (plugin_test.go): a plugin built with the Steampipe SDK serving the rows
//     under the real table names with no key columns, so every query plans, the plugin
//     returns every row and the SQL engine does all the filtering.
//   - Postgres side (postgres_test.go): the same rows in tables of the same names in the
//     public schema (jsonb, timestamptz, bigint, double precision, boolean, inet, cidr,
//     text), plus sp_connection_name/sp_ctx/_ctx and Steampipe's glob().
//   - The clock (clock_test.go): now(), current_timestamp, current_date and
//     localtimestamp are replaced by literals of a fixed instant in the query text both
//     engines receive, so time-relative queries are deterministic.
//   - Comparison (compare_test.go, run_test.go, unordered_test.go): column names in
//     order; values canonicalised (jsonb parsed, numbers as float64 to 12 significant
//     digits, timestamps as instants, text exact); rows as multisets, or in order under a
//     top-level ORDER BY with ties (equal sort keys, computed by Postgres) free to
//     reorder; LIMIT without a full order is checked as a subset of the unlimited answer;
//     array_agg/jsonb_agg/string_agg without ORDER BY compare their elements sorted.
//   - Classes (classes_test.go): every mismatch has a named cause and a minimal
//     reproduction; TestMismatchReproductions runs the reproductions in both engines.
//
// The test prints `differential: N of M equal` (M excludes queries Postgres itself
// rejects) and fails below 99%.
package differential
