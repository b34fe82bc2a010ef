// Package bench holds the benchmarks and their harness: rows through the engine and the
// SDK, the time from a new engine to its first AWS call, and the runner's reference run
// (spout run as a child process over a fake organization, to PostgreSQL and files).
// It has no code of its own outside its tests: go test -run '^$' -bench . ./bench/
package bench
