package rewrite

import "github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

// Scan is what the rewrite learned about one plugin-table reference: what to ask the
// plugin for. The rewritten SQL reads it through ScanFunc(ID).
type Scan struct {
	ID         string
	Connection string // as the Catalog resolved it; maybe an aggregator
	Table      string
	Schema     *proto.TableSchema
	Quals      map[string]*proto.Quals
	Limit      int64 // -1: no limit pushed
	Params     []*Param
	// Offset is the table reference's 0-based byte offset in the query text.
	Offset int
}

// Param pins a key column to the distinct values of another scan's column (From and
// FromColumn), or of the first column of a query (SQL), for joins and IN subqueries that
// give a required qual.
type Param struct {
	Column     string
	From       *Scan
	FromColumn string
	// SQL is a Postgres-dialect query whose first column gives the values; the engine
	// plans it with the query that needs it and runs it just before.
	SQL string
}

// HasParam reports whether a parameter pins col.
func (s *Scan) HasParam(col string) bool {
	for _, p := range s.Params {
		if p.Column == col {
			return true
		}
	}
	return false
}

// ColumnType is the type of the scan's column name (UNKNOWN when there is none).
func (s *Scan) ColumnType(name string) proto.ColumnType {
	for _, c := range s.Schema.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	return proto.ColumnType_UNKNOWN
}
