// Package e2e holds the end-to-end tests that run the real AWS plugin: the docs-corpus
// compatibility test and the runs against the project's local AWS endpoint.
package e2e
