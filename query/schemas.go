package query

// SchemaInfo is one connection seen as a Postgres schema, the way Steampipe's service
// shows it: the connection's name, holding the tables of its plugin.
type SchemaInfo struct {
	Name   string // the connection's name
	Plugin string
	Tables []TableInfo // sorted by name
}

// Schemas lists every connection (aggregators too) in the order the engine was given
// them, each with its tables. Unqualified table names resolve through the first
// connection of each plugin (see Table).
func (e *Engine) Schemas() []SchemaInfo {
	out := make([]SchemaInfo, 0, len(e.conns))
	for _, c := range e.conns {
		s := SchemaInfo{Name: c.name, Plugin: c.plugin}
		for _, name := range e.tableNames(c) {
			s.Tables = append(s.Tables, tableInfo(c, name, e.tableSchema(c, name)))
		}
		out = append(out, s)
	}
	return out
}
