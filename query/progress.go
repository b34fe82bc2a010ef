package query

// This file is the runner's window into scans in flight (written for runner heartbeats;
// it only reads state that scan.go and query.go maintain).

// Progress is a snapshot of the engine's plugin scans: the ones of every query that is
// planned, running or not yet closed. A query whose result is sorted holds its scans
// inside Engine.Query until the sort is done, so this is also the only view of such a
// query's progress while it runs.
type Progress struct {
	Scans   int              // scans registered by queries that are not closed yet
	Running int              // scans whose plugin calls have started
	Rows    map[string]int64 // rows received so far from each connection, over those scans
	Failed  map[string]int   // failed connection scans, by connection (AllowPartial)
}

// Progress reports what the engine's open scans have done so far. It is safe to call
// while queries run.
func (e *Engine) Progress() Progress {
	p := Progress{Rows: map[string]int64{}, Failed: map[string]int{}}
	e.scans.Range(func(_, v any) bool {
		s := v.(*scanSpec)
		p.Scans++
		s.stats.mu.Lock()
		if s.stats.started {
			p.Running++
		}
		for conn, n := range s.stats.rows {
			p.Rows[conn] += n
		}
		for conn := range s.stats.errs {
			p.Failed[conn]++
		}
		s.stats.mu.Unlock()
		return true
	})
	return p
}
