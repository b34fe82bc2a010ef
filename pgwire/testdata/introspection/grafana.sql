-- What Grafana's PostgreSQL data source (grafana-postgresql-datasource, Grafana 10/11)
-- sends: the health check, version and TimescaleDB probes of the data source settings,
-- then the query builder's table and column lists. Written from Grafana's source
-- (postgresMetaQuery.ts, datasource.go); not captured from a live Grafana.
SELECT 1
;;
SELECT current_setting('server_version_num')::int/100 as version
;;
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
;;
select quote_ident(table_name) as "table" from information_schema.tables
    where quote_ident(table_schema) not in ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
      and
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
;;
select quote_ident(column_name) as "column", data_type as "type"
    from information_schema.columns
    where quote_ident(table_name) = 'test_types'
