//go:build nodemo

package main

func (c *demoCmd) Run(e *env) error {
	return usageError{"demo is not in this build (it was built with -tags nodemo, as the container image is); from a clone of the repository, run: go run ./cmd/spout demo"}
}
