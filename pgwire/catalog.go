package pgwire

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/spoutdev/spout/internal/pgtree"
	"github.com/spoutdev/spout/query"
)

// catalog answers what clients ask about the database: pg_catalog and
// information_schema queries, and session functions. It is a separate in-memory DuckDB
// holding one schema per engine connection with one empty table per plugin table, so
// DuckDB's own pg_catalog and information_schema views list them with their columns. The
// few Postgres functions and spellings DuckDB lacks are rewritten or defined as macros.
type catalog struct {
	db      *sql.DB
	schemas []string // in the engine's order: the default search_path
}

// catalogTypes are the DuckDB column types of the catalog's tables, by the engine's
// Postgres type name.
var catalogTypes = map[string]string{
	"text": "VARCHAR", "bigint": "BIGINT", "double precision": "DOUBLE", "boolean": "BOOLEAN",
	"timestamptz": "TIMESTAMPTZ", "jsonb": "JSON", "inet": "VARCHAR", "cidr": "VARCHAR", "ltree": "VARCHAR",
}

// catalogMacros fill the gaps in DuckDB's pg_catalog that psql, pgx, JDBC and Grafana
// run into. format_type is replaced so columns show Postgres's type names (text, jsonb),
// not DuckDB's (VARCHAR, JSON).
var catalogMacros = []string{
	`CREATE MACRO pg_get_userbyid(id) AS 'spout'`,
	// Visible: the first table of its name along the search path, as in Postgres.
	// (Macro arguments are substituted as text, so the aliases inside must not be ones
	// the caller's arguments use.)
	`CREATE MACRO spout_table_visible(id, path) AS coalesce((
		SELECT bool_or(list_position(path, vn.nspname) = (
			SELECT min(list_position(path, vn2.nspname)) FROM pg_catalog.pg_class vc2
			JOIN pg_catalog.pg_namespace vn2 ON vn2.oid = vc2.relnamespace
			WHERE vc2.relname = vc.relname AND list_position(path, vn2.nspname) IS NOT NULL))
		FROM pg_catalog.pg_class vc JOIN pg_catalog.pg_namespace vn ON vn.oid = vc.relnamespace WHERE vc.oid = id), false)`,
	`CREATE MACRO pg_type_is_visible(id) AS true`,
	`CREATE MACRO pg_function_is_visible(id) AS true`,
	`CREATE MACRO pg_encoding_to_char(e) AS 'UTF8'`,
	`CREATE MACRO has_table_privilege(a, b, c := NULL) AS true`,
	`CREATE MACRO has_schema_privilege(a, b, c := NULL) AS true`,
	`CREATE MACRO has_database_privilege(a, b, c := NULL) AS true`,
	`CREATE MACRO shobj_description(id, cat) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_expr(e, r, p := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_is_in_recovery() AS false`,
	`CREATE MACRO pg_get_statisticsobjdef_columns(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_triggerdef(a, b := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_ruledef(a, b := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_viewdef(a, b := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_partkeydef(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_partition_constraintdef(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_function_arguments(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_function_result(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_function_identity_arguments(a) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_serial_sequence(a, b) AS NULL::VARCHAR`,
	`CREATE MACRO pg_tablespace_location(a) AS ''`,
	`CREATE MACRO pg_relation_size(a, f := NULL) AS 0::BIGINT`,
	`CREATE MACRO pg_total_relation_size(a) AS 0::BIGINT`,
	`CREATE MACRO pg_table_size(a) AS 0::BIGINT`,
	`CREATE MACRO pg_indexes_size(a) AS 0::BIGINT`,
	`CREATE MACRO pg_database_size(a) AS 0::BIGINT`,
	`CREATE MACRO pg_has_role(a, b, c := NULL) AS false`,
	`CREATE MACRO has_column_privilege(a, b, c, d := NULL) AS true`,
	`CREATE MACRO has_function_privilege(a, b, c := NULL) AS true`,
	`CREATE MACRO pg_collation_is_visible(a) AS true`,
	`CREATE MACRO pg_get_constraintdef(a, b := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_indexdef(a, b := NULL, c := NULL) AS NULL::VARCHAR`,
	`CREATE MACRO pg_get_keywords() AS TABLE SELECT NULL::VARCHAR AS word, NULL::VARCHAR AS catcode, NULL::VARCHAR AS catdesc WHERE false`,
	`CREATE MACRO txid_current() AS 1::BIGINT`,
	`CREATE MACRO pg_relation_is_publishable(a) AS false`,
	`CREATE MACRO array_upper(a, d) AS len(a)`,
	`CREATE MACRO btrim(s, c := ' ') AS trim(s, c)`,
	`CREATE MACRO array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END`,
	`CREATE MACRO generate_subscripts(a, d) AS TABLE SELECT unnest(range(1, len(a) + 1)) AS s`,
	`CREATE MACRO quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s ELSE '"' || replace(s, '"', '""') || '"' END`,
	`CREATE MACRO pg_get_publication_tables(a) AS TABLE SELECT NULL::BIGINT AS relid, NULL::BIGINT[] AS attrs, NULL::VARCHAR AS qual WHERE false`,
	`CREATE MACRO pg_partition_root(a) AS NULL::BIGINT`,
	`CREATE MACRO pg_partition_ancestors(a) AS TABLE SELECT NULL::BIGINT AS relid WHERE false`,
	`CREATE MACRO pg_postmaster_start_time() AS TIMESTAMPTZ '2000-01-01 00:00:00+00'`,
	`CREATE MACRO spout_format_type(t, m) AS CASE
		WHEN t IN (25, 1043) THEN 'text' WHEN t = 20 THEN 'bigint' WHEN t = 23 THEN 'integer'
		WHEN t = 701 THEN 'double precision' WHEN t = 16 THEN 'boolean'
		WHEN t = 1184 THEN 'timestamp with time zone' WHEN t = 1114 THEN 'timestamp without time zone'
		WHEN t = 3802 THEN 'jsonb' WHEN t = 114 THEN 'json' WHEN t IS NULL THEN NULL ELSE coalesce((SELECT max(ft.typname) FROM pg_catalog.pg_type ft WHERE ft.oid = t), '???') END`,
	`CREATE MACRO obj_description(id, cat := NULL) AS (SELECT max(dt.comment) FROM duckdb_tables() dt WHERE dt.table_oid = id)`,
	`CREATE MACRO col_description(id, n) AS (SELECT max(cc.description) FROM pg_spout.column_descriptions cc
		JOIN duckdb_tables() dt ON dt.schema_name = cc.schema_name AND dt.table_name = cc.table_name
		WHERE dt.table_oid = id AND cc.column_index = n)`,
	`CREATE MACRO parse_ident_last(s) AS trim(string_split(s, '.')[-1], '"')`,
	`CREATE MACRO parse_ident_schema(s) AS CASE WHEN len(string_split(s, '.')) > 1 THEN trim(string_split(s, '.')[1], '"') END`,
	`CREATE MACRO spout_regclass(name) AS (SELECT rc.oid FROM pg_catalog.pg_class rc JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE rc.relname = parse_ident_last(name) AND (rn.nspname = parse_ident_schema(name) OR parse_ident_schema(name) IS NULL) LIMIT 1)`,
}

// emptyTables stand for catalogs a read-only, index-free database has nothing in but
// that psql and drivers join against. Their columns are Postgres 15's.
var emptyTables = map[string]string{
	"pg_am":                    "oid BIGINT, amname VARCHAR, amhandler BIGINT, amtype VARCHAR",
	"pg_inherits":              "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
	"pg_policy":                "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
	"pg_trigger":               "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype INTEGER, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs INTEGER, tgattr VARCHAR, tgargs VARCHAR, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR",
	"pg_statistic_ext":         "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, stxstattarget INTEGER, stxkeys BIGINT[], stxkind VARCHAR[], stxexprs VARCHAR",
	"pg_statistic_ext_data":    "stxoid BIGINT, stxdinherit BOOLEAN, stxdndistinct VARCHAR, stxddependencies VARCHAR, stxdmcv VARCHAR, stxdexpr VARCHAR",
	"pg_publication":           "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
	"pg_publication_rel":       "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs BIGINT[]",
	"pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
	"pg_collation":             "oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR, colliculocale VARCHAR, collversion VARCHAR",
	"pg_foreign_table":         "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR",
	"pg_foreign_server":        "oid BIGINT, srvname VARCHAR, srvowner BIGINT, srvfdw BIGINT, srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR, srvoptions VARCHAR",
	"pg_foreign_data_wrapper":  "oid BIGINT, fdwname VARCHAR, fdwowner BIGINT, fdwhandler BIGINT, fdwvalidator BIGINT, fdwacl VARCHAR, fdwoptions VARCHAR",
	"pg_partitioned_table":     "partrelid BIGINT, partstrat VARCHAR, partnatts INTEGER, partdefid BIGINT, partattrs VARCHAR, partclass VARCHAR, partcollation VARCHAR, partexprs VARCHAR",
	"pg_rewrite":               "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
	"pg_extension":             "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extrelocatable BOOLEAN, extversion VARCHAR, extconfig VARCHAR, extcondition VARCHAR",
	"pg_matviews":              "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
	"pg_language":              "oid BIGINT, lanname VARCHAR, lanowner BIGINT, lanispl BOOLEAN, lanpltrusted BOOLEAN, lanplcallfoid BIGINT, laninline BIGINT, lanvalidator BIGINT, lanacl VARCHAR",
	"pg_event_trigger":         "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtowner BIGINT, evtfoid BIGINT, evtenabled VARCHAR, evttags VARCHAR",
	"pg_range":                 "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT, rngsubopc BIGINT, rngcanonical BIGINT, rngsubdiff BIGINT",
	"pg_operator":              "oid BIGINT, oprname VARCHAR, oprnamespace BIGINT, oprowner BIGINT, oprkind VARCHAR, oprcanmerge BOOLEAN, oprcanhash BOOLEAN, oprleft BIGINT, oprright BIGINT, oprresult BIGINT, oprcom BIGINT, oprnegate BIGINT, oprcode BIGINT, oprrest BIGINT, oprjoin BIGINT",
	"pg_cast":                  "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, castcontext VARCHAR, castmethod VARCHAR",
	"pg_auth_members":          "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
	"pg_shdescription":         "objoid BIGINT, classoid BIGINT, description VARCHAR",
	"pg_stat_activity":         "datid BIGINT, datname VARCHAR, pid INTEGER, usename VARCHAR, application_name VARCHAR, client_addr VARCHAR, backend_start TIMESTAMPTZ, query_start TIMESTAMPTZ, state VARCHAR, query VARCHAR",
	"pg_conversion":            "oid BIGINT, conname VARCHAR, connamespace BIGINT, conowner BIGINT, conforencoding INTEGER, contoencoding INTEGER, conproc BIGINT, condefault BOOLEAN",
	"pg_opclass":               "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT",
}

// overrideViews replace DuckDB's pg_catalog and information_schema views where their
// columns or contents differ from Postgres's: Postgres type OIDs and names, the
// configured database name, and no trace of DuckDB's own schemas (main, pg_spout).
// {{db}} is the database name.
var overrideViews = []string{
	`CREATE MACRO pg_spout.type_oid(t) AS CASE t WHEN 'VARCHAR' THEN 25 WHEN 'JSON' THEN 3802 WHEN 'BIGINT' THEN 20
		WHEN 'INTEGER' THEN 23 WHEN 'DOUBLE' THEN 701 WHEN 'BOOLEAN' THEN 16 WHEN 'TIMESTAMP WITH TIME ZONE' THEN 1184 END`,
	`CREATE MACRO pg_spout.type_name(t) AS CASE t WHEN 'VARCHAR' THEN 'text' WHEN 'JSON' THEN 'jsonb' WHEN 'BIGINT' THEN 'bigint'
		WHEN 'INTEGER' THEN 'integer' WHEN 'DOUBLE' THEN 'double precision' WHEN 'BOOLEAN' THEN 'boolean'
		WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp with time zone' ELSE lower(t) END`,
	`CREATE MACRO pg_spout.udt_name(t) AS CASE t WHEN 'VARCHAR' THEN 'text' WHEN 'JSON' THEN 'jsonb' WHEN 'BIGINT' THEN 'int8'
		WHEN 'INTEGER' THEN 'int4' WHEN 'DOUBLE' THEN 'float8' WHEN 'BOOLEAN' THEN 'bool'
		WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamptz' ELSE lower(t) END`,
	`CREATE VIEW pg_spout.pg_namespace AS SELECT * FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('main', 'pg_spout')`,
	`CREATE VIEW pg_spout.pg_class AS SELECT * REPLACE (NULL::VARCHAR[] AS reloptions, 'd' AS relreplident, NULL::VARCHAR AS relacl, 0 AS reltablespace, 0 AS relam),
		false AS relforcerowsecurity FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM pg_spout.pg_namespace)`,
	`CREATE VIEW pg_spout.pg_attribute AS SELECT a.* REPLACE (coalesce(pg_spout.type_oid(c.data_type), a.atttypid) AS atttypid, -1 AS atttypmod, '' AS attidentity, '' AS attgenerated,
		'x' AS attstorage, -1 AS attstattarget, '' AS attcompression)
		FROM pg_catalog.pg_attribute a LEFT JOIN duckdb_columns() c ON c.table_oid = a.attrelid AND c.column_index = a.attnum`,
	`CREATE VIEW pg_spout.pg_type AS SELECT * FROM pg_catalog.pg_type UNION ALL BY NAME
		SELECT * FROM (VALUES (25, 'text', -1, 'S'), (3802, 'jsonb', -1, 'U'), (114, 'json', -1, 'U'), (1114, 'timestamp', 8, 'D'))
			v(oid, typname, typlen, typcategory)
		WHERE v.oid NOT IN (SELECT oid FROM pg_catalog.pg_type WHERE oid IS NOT NULL)`,
	`CREATE VIEW pg_spout.pg_database AS SELECT oid, '{{db}}' AS datname, 10 AS datdba, 6 AS encoding, 'c' AS datlocprovider,
		false AS datistemplate, true AS datallowconn, -1 AS datconnlimit, 'C' AS datcollate, 'C' AS datctype,
		NULL::VARCHAR AS daticulocale, NULL::VARCHAR AS datcollversion, 1663 AS dattablespace, NULL::VARCHAR AS datacl
		FROM pg_catalog.pg_database WHERE datname = current_database()`,
	`CREATE VIEW pg_spout.pg_tables AS SELECT * FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('main', 'pg_spout')`,
	`CREATE VIEW pg_spout.pg_views AS SELECT * FROM pg_catalog.pg_views WHERE schemaname NOT IN ('main', 'pg_spout', 'pg_catalog', 'information_schema')`,
	`CREATE VIEW pg_spout.pg_description AS SELECT table_oid AS objoid, 1259 AS classoid, 0 AS objsubid, comment AS description
		FROM duckdb_tables() WHERE comment IS NOT NULL`,
	`CREATE VIEW pg_spout.information_schema_tables AS SELECT * REPLACE ('{{db}}' AS table_catalog) FROM information_schema.tables
		WHERE table_schema NOT IN ('main', 'pg_spout')`,
	`CREATE VIEW pg_spout.information_schema_columns AS SELECT * REPLACE ('{{db}}' AS table_catalog, pg_spout.type_name(data_type) AS data_type,
		pg_spout.udt_name(data_type) AS udt_name) FROM information_schema.columns WHERE table_schema NOT IN ('main', 'pg_spout')`,
	`CREATE VIEW pg_spout.information_schema_schemata AS SELECT * REPLACE ('{{db}}' AS catalog_name, 'spout' AS schema_owner)
		FROM information_schema.schemata WHERE schema_name NOT IN ('main', 'pg_spout')`,
	`CREATE VIEW pg_spout.information_schema_views AS SELECT * FROM information_schema.views WHERE false`,
	`CREATE VIEW pg_spout.information_schema_routines AS SELECT NULL::VARCHAR AS specific_catalog, NULL::VARCHAR AS specific_schema, NULL::VARCHAR AS specific_name,
		NULL::VARCHAR AS routine_catalog, NULL::VARCHAR AS routine_schema, NULL::VARCHAR AS routine_name, NULL::VARCHAR AS routine_type, NULL::VARCHAR AS data_type WHERE false`,
	`CREATE VIEW pg_spout.information_schema_key_column_usage AS SELECT * FROM information_schema.key_column_usage WHERE false`,
	`CREATE VIEW pg_spout.information_schema_table_constraints AS SELECT * FROM information_schema.table_constraints WHERE false`,
}

// overridden lists the relations the rewrite points at pg_spout: pg_catalog's by name,
// information_schema's as information_schema_<name>.
var overridden = map[string]bool{}

func init() {
	for name := range emptyTables {
		overridden[name] = true
	}
	for _, v := range overrideViews {
		if rest, ok := strings.CutPrefix(v, "CREATE VIEW pg_spout."); ok {
			overridden[rest[:strings.IndexByte(rest, ' ')]] = true
		}
	}
}

func newCatalog(ctx context.Context, schemas []query.SchemaInfo, database string, users []string) (*catalog, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("starting DuckDB: %w", err)
	}
	db := sql.OpenDB(connector)
	c := &catalog{db: db}
	var stmts []string
	for _, s := range schemas {
		c.schemas = append(c.schemas, s.Name)
		stmts = append(stmts, "CREATE SCHEMA "+ident(s.Name))
		for _, t := range s.Tables {
			var cols []string
			for _, col := range t.Columns {
				typ, ok := catalogTypes[col.Type]
				if !ok {
					typ = "VARCHAR"
				}
				cols = append(cols, ident(col.Name)+" "+typ)
			}
			table := ident(s.Name) + "." + ident(t.Name)
			stmts = append(stmts, "CREATE TABLE "+table+" ("+strings.Join(cols, ", ")+")")
			if t.Description != "" {
				stmts = append(stmts, "COMMENT ON TABLE "+table+" IS "+quote(t.Description))
			}
		}
	}
	stmts = append(stmts, "CREATE SCHEMA pg_spout",
		"CREATE TABLE pg_spout.column_descriptions (schema_name VARCHAR, table_name VARCHAR, column_index INTEGER, description VARCHAR)")
	for _, s := range schemas {
		for _, t := range s.Tables {
			var rows []string
			for i, col := range t.Columns {
				if col.Description != "" {
					rows = append(rows, fmt.Sprintf("(%s, %s, %d, %s)", quote(s.Name), quote(t.Name), i+1, quote(col.Description)))
				}
			}
			if len(rows) > 0 {
				stmts = append(stmts, "INSERT INTO pg_spout.column_descriptions VALUES "+strings.Join(rows, ", "))
			}
		}
	}
	stmts = append(stmts, catalogMacros...)
	for _, name := range slices.Sorted(maps.Keys(emptyTables)) {
		stmts = append(stmts, "CREATE TABLE pg_spout."+name+" ("+emptyTables[name]+")")
	}
	for _, v := range overrideViews {
		stmts = append(stmts, strings.ReplaceAll(v, "{{db}}", strings.ReplaceAll(database, "'", "''")))
	}
	var roles []string
	for i, u := range users {
		roles = append(roles, fmt.Sprintf("(%d, %s)", 10+i, quote(u)))
	}
	if len(roles) == 0 {
		roles = append(roles, "(10, 'spout')")
	}
	values := strings.Join(roles, ", ")
	stmts = append(stmts,
		`CREATE VIEW pg_spout.pg_roles AS SELECT name AS rolname, false AS rolsuper, true AS rolinherit, false AS rolcreaterole,
			false AS rolcreatedb, true AS rolcanlogin, false AS rolreplication, -1 AS rolconnlimit, '********' AS rolpassword,
			NULL::TIMESTAMPTZ AS rolvaliduntil, false AS rolbypassrls, NULL::VARCHAR AS rolconfig, oid FROM (VALUES `+values+`) v(oid, name)`,
		`CREATE VIEW pg_spout.pg_user AS SELECT name AS usename, oid AS usesysid, false AS usecreatedb, false AS usesuper, false AS userepl,
			false AS usebypassrls, '********' AS passwd, NULL::TIMESTAMPTZ AS valuntil, NULL::VARCHAR AS useconfig FROM (VALUES `+values+`) v(oid, name)`,
		`CREATE VIEW pg_spout.pg_authid AS SELECT oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
			rolreplication, rolbypassrls, rolconnlimit, NULL::VARCHAR AS rolpassword, rolvaliduntil FROM pg_spout.pg_roles`,
	)
	overridden["pg_roles"], overridden["pg_user"], overridden["pg_authid"] = true, true, true
	stmts = append(stmts,
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL lock_configuration = true",
	)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", firstWords(s), err)
		}
	}
	return c, nil
}

func (c *catalog) close() { c.db.Close() }

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// ident quotes a Postgres/DuckDB identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sessionInfo is what session functions of a catalog query return.
type sessionInfo struct {
	user, database string
	searchPath     []string
	pid            uint32
	settings       *settings
}

// rewriteCatalog turns a Postgres catalog query into DuckDB's dialect for the catalog
// database: pg_catalog. qualifiers on functions and operators dropped, COLLATE dropped,
// reg* casts resolved, session functions replaced by their values.
func rewriteCatalog(text string, si sessionInfo) (string, error) {
	tree, err := pg.Parse(text)
	if err != nil {
		return "", err
	}
	for _, raw := range tree.Stmts {
		if err := checkCatalogFunctions(raw.Stmt); err != nil {
			return "", err
		}
		pgtree.Walk(raw.Stmt, func(n *pg.Node) bool {
			rewriteCatalogNode(n, si)
			return true
		})
	}
	return pg.Deparse(tree)
}

// checkCatalogFunctions refuses a table function in FROM other than the set-returning
// functions of tableFunctions. The catalog's DuckDB has the engine's sandbox settings,
// but some of its table functions reach past them (enable_logging changes the instance,
// query runs SQL text), and the catalog needs none of them.
func checkCatalogFunctions(stmt *pg.Node) error {
	var err error
	pgtree.Walk(stmt, func(n *pg.Node) bool {
		rf := n.GetRangeFunction()
		if rf == nil || scalarInFrom(rf) != nil {
			// A scalar function in FROM is called as a scalar (see rewriteCatalogNode).
			return err == nil
		}
		for _, f := range rf.Functions {
			for _, item := range f.GetList().GetItems() {
				fc := item.GetFuncCall()
				if fc == nil {
					continue
				}
				if name := strings.ToLower(lastName(fc.Funcname)); !tableFunctions[name] {
					err = &pgError{code: "42501", msg: fmt.Sprintf("function %s is not allowed in a catalog query", name)}
				}
			}
		}
		return err == nil
	})
	return err
}

func rewriteCatalogNode(n *pg.Node, si sessionInfo) {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		rv := x.RangeVar
		switch {
		case (rv.Schemaname == "pg_catalog" || rv.Schemaname == "") && overridden[rv.Relname]:
			rv.Schemaname = "pg_spout"
		case rv.Schemaname == "information_schema" && overridden["information_schema_"+rv.Relname]:
			rv.Schemaname, rv.Relname = "pg_spout", "information_schema_"+rv.Relname
		}
	case *pg.Node_RangeFunction:
		// FROM generate_series(...) s, then s as a value: Postgres means the function's
		// column, DuckDB the row. Naming the column after the alias makes s the column.
		rf := x.RangeFunction
		if rf.Alias != nil && len(rf.Alias.Colnames) == 0 && len(rf.Functions) == 1 {
			rf.Alias.Colnames = []*pg.Node{pg.MakeStrNode(rf.Alias.Aliasname)}
		}
		// A scalar function in FROM is a one-row table in Postgres; DuckDB wants a
		// table function there, so it becomes (SELECT f(...) AS alias) alias.
		if fn := scalarInFrom(rf); fn != nil {
			alias := rf.Alias
			if alias == nil {
				alias = &pg.Alias{Aliasname: strings.ToLower(lastName(fn.Funcname))}
			}
			col := alias.Aliasname
			if len(alias.Colnames) > 0 {
				col = alias.Colnames[0].GetString_().GetSval()
			}
			sel := &pg.SelectStmt{TargetList: []*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{
				Name: col, Val: &pg.Node{Node: &pg.Node_FuncCall{FuncCall: fn}},
			}}}}}
			n.Node = &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{
				Subquery: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}},
				Alias:    &pg.Alias{Aliasname: alias.Aliasname},
			}}
			pgtree.Walk(sel.TargetList[0], func(m *pg.Node) bool { rewriteCatalogNode(m, si); return true })
		}
	case *pg.Node_ResTarget:
		// A function replaced by its value keeps the function's name as the column's,
		// as Postgres names it: select version() has a column "version".
		rt := x.ResTarget
		if rt.Name != "" || rt.Val == nil {
			break
		}
		if fc := rt.Val.GetFuncCall(); fc != nil {
			rt.Name = strings.ToLower(lastName(fc.Funcname))
		}
		if sv := rt.Val.GetSqlvalueFunction(); sv != nil {
			rt.Name = sqlValueName[sv.Op]
		}
	case *pg.Node_AExpr:
		// OPERATOR(pg_catalog.~) is psql's spelling of ~.
		if len(x.AExpr.Name) == 2 && x.AExpr.Name[0].GetString_().GetSval() == "pg_catalog" {
			x.AExpr.Name = x.AExpr.Name[1:]
		}
		// x = ANY(array_column): DuckDB cannot unnest a correlated list; list_contains
		// says the same.
		if x.AExpr.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY && lastName(x.AExpr.Name) == "=" && x.AExpr.Rexpr.GetSubLink() == nil {
			n.Node = makeFunc("list_contains", x.AExpr.Rexpr, x.AExpr.Lexpr).Node
		}
	case *pg.Node_CollateClause:
		n.Node = x.CollateClause.Arg.Node
		rewriteCatalogNode(n, si)
	case *pg.Node_SqlvalueFunction:
		switch x.SqlvalueFunction.Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg.SQLValueFunctionOp_SVFOP_SESSION_USER,
			pg.SQLValueFunctionOp_SVFOP_USER, pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
			n.Node = pg.MakeAConstStrNode(si.user, 0).Node
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
			n.Node = pg.MakeAConstStrNode(si.database, 0).Node
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
			n.Node = pg.MakeAConstStrNode(firstOr(si.searchPath, "public"), 0).Node
		}
	case *pg.Node_TypeCast:
		tc := x.TypeCast
		names := tc.TypeName.GetNames()
		if len(names) == 2 && names[0].GetString_().GetSval() == "pg_catalog" {
			tc.TypeName.Names = names[1:]
		}
		switch lastName(tc.TypeName.GetNames()) {
		case "regclass":
			if _, isConst := pgtree.ConstValue(tc.Arg); isConst {
				n.Node = makeFunc("spout_regclass", tc.Arg).Node
			} else {
				tc.TypeName = makeTypeName("bigint")
			}
		case "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "oid", "xid", "regoper", "cid", "tid":
			tc.TypeName = makeTypeName("bigint")
		case "name", "char", "bpchar":
			tc.TypeName = makeTypeName("varchar")
		case "int2vector", "oidvector", "_oid", "_text", "_name", "_aclitem", "aclitem":
			tc.TypeName = makeTypeName("varchar")
		}
	case *pg.Node_FuncCall:
		fc := x.FuncCall
		if len(fc.Funcname) == 2 && fc.Funcname[0].GetString_().GetSval() == "pg_catalog" {
			fc.Funcname = fc.Funcname[1:]
		}
		switch strings.ToLower(lastName(fc.Funcname)) {
		case "version":
			n.Node = pg.MakeAConstStrNode("PostgreSQL "+ServerVersion+" (spout, on DuckDB), compiled by Go, 64-bit", 0).Node
		case "current_database":
			n.Node = pg.MakeAConstStrNode(si.database, 0).Node
		case "current_schema":
			n.Node = pg.MakeAConstStrNode(firstOr(si.searchPath, "public"), 0).Node
		case "current_schemas":
			path := si.searchPath
			if v, ok := argBool(fc); ok && v {
				path = append([]string{"pg_catalog"}, path...)
			}
			var items []*pg.Node
			for _, p := range path {
				items = append(items, pg.MakeAConstStrNode(p, 0))
			}
			n.Node = &pg.Node_AArrayExpr{AArrayExpr: &pg.A_ArrayExpr{Elements: items}}
		case "current_setting":
			if len(fc.Args) >= 1 {
				if v, ok := pgtree.ConstValue(fc.Args[0]); ok {
					n.Node = pg.MakeAConstStrNode(si.settings.get(fmt.Sprint(v)), 0).Node
				}
			}
		case "set_config":
			// set_config(name, value, is_local) as pgAdmin sends it; the session keeps
			// its settings, the call answers the value.
			if len(fc.Args) >= 2 {
				n.Node = fc.Args[1].Node
			}
		case "pg_backend_pid":
			n.Node = pg.MakeAConstIntNode(int64(si.pid), 0).Node
		case "format_type":
			fc.Funcname = []*pg.Node{pg.MakeStrNode("spout_format_type")}
		case "pg_table_is_visible":
			path := []*pg.Node{pg.MakeAConstStrNode("pg_catalog", 0)}
			for _, p := range si.searchPath {
				path = append(path, pg.MakeAConstStrNode(p, 0))
			}
			fc.Funcname = []*pg.Node{pg.MakeStrNode("spout_table_visible")}
			fc.Args = append(fc.Args, &pg.Node{Node: &pg.Node_AArrayExpr{AArrayExpr: &pg.A_ArrayExpr{Elements: path}}})
		case "to_regclass":
			fc.Funcname = []*pg.Node{pg.MakeStrNode("spout_regclass")}
		}
	}
}

var sqlValueName = map[pg.SQLValueFunctionOp]string{
	pg.SQLValueFunctionOp_SVFOP_CURRENT_USER: "current_user", pg.SQLValueFunctionOp_SVFOP_SESSION_USER: "session_user",
	pg.SQLValueFunctionOp_SVFOP_USER: "user", pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE: "current_role",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG: "current_catalog", pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA: "current_schema",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE: "current_date", pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
	pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP: "localtimestamp", pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME: "current_time",
}

// tableFunctions are the set-returning functions the catalog database has.
var tableFunctions = map[string]bool{
	"generate_series": true, "unnest": true, "generate_subscripts": true, "pg_get_keywords": true,
	"pg_get_publication_tables": true, "pg_partition_ancestors": true, "range": true,
	"json_each": true, "jsonb_each": true, "json_array_elements": true, "jsonb_array_elements": true,
}

func scalarInFrom(rf *pg.RangeFunction) *pg.FuncCall {
	if len(rf.Functions) != 1 || rf.Ordinality || rf.IsRowsfrom {
		return nil
	}
	items := rf.Functions[0].GetList().GetItems()
	if len(items) == 0 {
		return nil
	}
	fc := items[0].GetFuncCall()
	if fc == nil || tableFunctions[strings.ToLower(lastName(fc.Funcname))] {
		return nil
	}
	return fc
}

func argBool(fc *pg.FuncCall) (bool, bool) {
	if len(fc.Args) != 1 {
		return false, false
	}
	v, ok := pgtree.ConstValue(fc.Args[0])
	b, isBool := v.(bool)
	return b, ok && isBool
}

func makeFunc(name string, args ...*pg.Node) *pg.Node {
	return &pg.Node{Node: &pg.Node_FuncCall{FuncCall: &pg.FuncCall{
		Funcname: []*pg.Node{pg.MakeStrNode(name)}, Args: args, Funcformat: pg.CoercionForm_COERCE_EXPLICIT_CALL,
	}}}
}

func makeTypeName(name string) *pg.TypeName {
	return &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode(name)}, Typemod: -1}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
