// Package query runs Steampipe-style SQL over Steampipe plugins hosted in-process.
//
// Plugins register by name, as database/sql drivers do (WithPlugin), and connections
// carry the plugin's HCL config, the body of a Steampipe .spc connection block
// (WithConnection, WithAggregator). Queries are written in Postgres's dialect, as in
// Steampipe's docs; an Engine parses each with Postgres's grammar, turns every plugin
// table reference into a scan that receives the columns, quals and limit the query pins,
// and lets DuckDB evaluate the rest. Rows stream like pgx's or database/sql's.
//
// A ScanCache (Engine.NewScanCache, WithScanCache) lets the queries of a batch share
// their plugin scans, so that each distinct scan calls the API once.
//
// Errors a caller can act on are typed: *SQLError and *MissingQualError are located in
// the query text (PositionOf), *PluginError names the connection and table whose scan
// failed, and *ConnectionError the connection New could not set up.
//
// Inside, the work is split by job: internal/plugin hosts the plugins, internal/rewrite
// translates and pushes down (against a catalog of tables, without DuckDB), and
// internal/udf holds the Go functions the translated SQL calls.
package query
