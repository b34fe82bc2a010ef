package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // in stdout
		stderr     string // in stderr
		noStdout   bool
		noStderror bool
	}{
		{args: nil, code: 2, stderr: "Usage: spout <command>", noStdout: true},
		{args: []string{"-h"}, code: 0, stdout: "query <sql> [flags]"},
		{args: []string{"help"}, code: 0, stdout: "validate [<file> ...] [flags]"},
		{args: []string{"help", "run"}, code: 0, stdout: "--schedule=GROUP"},
		{args: []string{"run", "--help"}, code: 0, stdout: "-c, --config=FILE"},
		{args: []string{"query", "-h"}, code: 0, stdout: "--output="},
		{args: []string{"version"}, code: 0, stdout: "spout dev\n"},
		{args: []string{"--version"}, code: 0, stdout: "spout dev\n"},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"help", "frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"query", "--nope", "select 1"}, code: 2, stderr: "unknown flag --nope\nRun 'spout query --help'"},
		{args: []string{"query", "select 1", "--output", "xml"}, code: 2, stderr: `--output must be one of`},
		{args: []string{"query"}, code: 2, stderr: `expected "<sql>"`},
		{args: []string{"query", "select", "1"}, code: 2, stderr: "unexpected argument 1"},
		{args: []string{"describe"}, code: 2, stderr: `expected "<table>"`},
		{args: []string{"tables", "a*", "b*"}, code: 2, stderr: "unexpected argument b*"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut.String())
			}
			if tc.noStdout && out.Len() > 0 {
				t.Errorf("stdout should be empty: %s", out.String())
			}
		})
	}
}

// Flags may follow the query, and the query may come from stdin.
func TestQueryFlagsAnywhere(t *testing.T) {
	fakeAWS(t)
	const want = "[\n{\"n\":1,\"s\":\"a<b\"}\n]\n"
	for _, args := range [][]string{
		{"query", "select 1 as n, 'a<b' as s", "--output", "json"},
		{"query", "--output=json", "select 1 as n, 'a<b' as s"},
		{"query", "select 1 as n, 'a<b' as s", "--output=json", "--aws-config", `regions = ["us-east-1"]`},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
		}
		if out.String() != want {
			t.Errorf("%q printed %q, want %q", args, out.String(), want)
		}
	}

	var out, errOut bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader("select 2 as m, null as x"), stdout: &out, stderr: &errOut}
	if code := runEnv([]string{"query", "-", "--output", "csv"}, e); code != 0 {
		t.Fatalf("query -: exit %d: %s", code, errOut.String())
	}
	if out.String() != "m,x\r\n2,\r\n" {
		t.Errorf("query - printed %q", out.String())
	}
}

// SPOUT_AWS_CONFIG is the default of --aws-config: without it the plugin would not find
// the local endpoint.
func TestAWSConfigFromEnvironment(t *testing.T) {
	srv := fakeAWS(t)
	acct := srv.Inventory().Accounts[0].ID
	t.Setenv("SPOUT_AWS_CONFIG", srv.PluginConfig(acct))
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"query", "select count(*) as n from aws_cloudformation_stack", "--output", "ndjson"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := 0
	for _, s := range srv.Inventory().Stacks {
		if s.Account == acct {
			want++
		}
	}
	var got struct{ N int }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.N != want || want == 0 {
		t.Errorf("printed %q (%v), want n=%d", out.String(), err, want)
	}
}

// -c works before or after the command's own flags, and SPOUT_CONFIG is its default.
func TestConfigFlagPlacesAndEnvironment(t *testing.T) {
	srv := fakeAWS(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "spout.yaml")
	if err := os.WriteFile(path, []byte(spoutConfig(srv, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string // SPOUT_CONFIG
	}{
		{"-c first", []string{"run", "-c", path, "--schedule", "daily"}, ""},
		{"-c last", []string{"run", "--schedule", "daily", "--config", path}, ""},
		{"--config=", []string{"run", "--schedule=daily", "--config=" + path}, ""},
		{"SPOUT_CONFIG", []string{"run", "--schedule", "daily"}, path},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPOUT_CONFIG", tc.env)
			os.Remove(filepath.Join(dir, "stacks.jsonl"))
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
			m := manifestOf(t, logLines(t, out.String()))
			if m["config"] != path || len(m["queries"].([]any)) != 1 {
				t.Errorf("manifest = %v", m)
			}
			if _, err := os.Stat(filepath.Join(dir, "stacks.jsonl")); err != nil {
				t.Error(err)
			}
		})
	}

	// validate: -c on either side of --aws-config; SPOUT_CONFIG alone names the file,
	// but does not stand in the way of SQL files.
	sqlFile := filepath.Join(dir, "q.sql")
	if err := os.WriteFile(sqlFile, []byte("select name from aws_s3_bucket\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"validate", "-c", path, "--aws-config", ""}, "", "ok " + path + " ("},
		{[]string{"validate", "--aws-config", "", "-c", path}, "", "ok " + path + " ("},
		{[]string{"validate"}, path, "ok " + path + " ("},
		{[]string{"validate", sqlFile}, path, "ok " + sqlFile + "\n"},
		{[]string{"validate", "--sql", sqlFile}, path, "ok " + sqlFile + "\n"},
	} {
		t.Setenv("SPOUT_CONFIG", tc.env)
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errOut); code != 0 {
			t.Errorf("%q with SPOUT_CONFIG=%q: exit %d\nstdout: %s\nstderr: %s", tc.args, tc.env, code, out.String(), errOut.String())
			continue
		}
		if !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("%q with SPOUT_CONFIG=%q printed %q, want %q...", tc.args, tc.env, out.String(), tc.want)
		}
	}
}

// json, ndjson and csv are sink/format's encoders: jsonb embedded as JSON, timestamps in
// RFC 3339 with their fraction, csv with RFC 4180's CRLF.
func TestQueryOutputFormats(t *testing.T) {
	fakeAWS(t)
	const sql = `select 'x,"y"' as s, '{"k": [1, 2]}'::jsonb as j, timestamptz '2026-01-02 03:04:05.5+00' as t, 1.5::double as d, null as z`
	for _, tc := range []struct{ output, want string }{
		{"json", "[\n{\"s\":\"x,\\\"y\\\"\",\"j\":{\"k\":[1,2]},\"t\":\"2026-01-02T03:04:05.5Z\",\"d\":1.5,\"z\":null}\n]\n"},
		{"ndjson", "{\"s\":\"x,\\\"y\\\"\",\"j\":{\"k\":[1,2]},\"t\":\"2026-01-02T03:04:05.5Z\",\"d\":1.5,\"z\":null}\n"},
		{"csv", "s,j,t,d,z\r\n\"x,\"\"y\"\"\",\"{\"\"k\"\":[1,2]}\",2026-01-02T03:04:05.5Z,1.5,\r\n"},
		{"table", "s      j            t                     d    z\n-      -            -                     -    -\nx,\"y\"  {\"k\":[1,2]}  2026-01-02T03:04:05Z  1.5  \n"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"query", sql, "--output", tc.output}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.output, code, errOut.String())
		}
		if out.String() != tc.want {
			t.Errorf("%s printed\n%q, want\n%q", tc.output, out.String(), tc.want)
		}
	}
}
