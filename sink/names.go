package sink

import "time"

// NameData is what name templates see: table names, object keys, file paths.
type NameData struct {
	Query      string
	RunID      string
	Connection string
	Sink       string // the sink's name
	// Shard names the part of a sharded run, e.g. "2-of-4"; "" when the run is not
	// sharded. Keys and paths that results of several shards share must use it.
	Shard string
	// The collection time, UTC, whole and in parts for partitioned layouts
	// (dt={{.Date}}/ or year={{.Year}}/month={{.Month}}/).
	Time                         time.Time
	Date, Year, Month, Day, Hour string // 2006-01-02, 2006, 01, 02, 15
	Ext                          string // the file extension with its dot, e.g. ".jsonl.gz"; "" for tables
}

// NewNameData returns the template data for a result delivered by the named sink.
func NewNameData(info ResultInfo, sinkName, ext string) NameData {
	t := info.CollectedAt.UTC()
	return NameData{
		Query: info.Query, RunID: info.RunID, Connection: info.Connection, Sink: sinkName, Shard: info.Shard.Name(),
		Time: t, Date: t.Format("2006-01-02"), Year: t.Format("2006"), Month: t.Format("01"),
		Day: t.Format("02"), Hour: t.Format("15"), Ext: ext,
	}
}
