package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/spoutdev/spout/cdk/internal/cdkout"
)

// TestShippedAppSynthesizes builds the app the way `npx cdk synth` does, with cdk.json's
// context and the shipped props.yaml and spout.yaml, and checks that it synthesizes with no
// errors (cdk-nag's included), so a change that breaks the default deploy fails here.
func TestShippedAppSynthesizes(t *testing.T) {
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	context := map[string]any{}
	for k, v := range cdkJSON.Context {
		context[k] = v
	}
	outdir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &context})
	if err := build(app); err != nil {
		t.Fatal(err)
	}
	assembly := app.Synth(nil)

	dir := *assembly.Directory()
	messages, err := cdkout.Messages(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Spout", "SpoutMemberRole"} {
		if _, err := cdkout.Template(dir, name); err != nil {
			t.Errorf("no %s stack: %v", name, err)
		}
		for _, m := range messages[name] {
			if m.Level == "error" {
				t.Errorf("%s: %s: %s", name, m.Path, m.Text)
			}
		}
	}

	// The image asset is the repository root without this module, VCS data or output.
	assets, err := filepath.Glob(filepath.Join(outdir, "asset.*"))
	if err != nil || len(assets) != 1 {
		t.Fatalf("want one staged image asset, got %v (%v)", assets, err)
	}
	for _, want := range []string{"Dockerfile", "go.mod"} {
		if _, err := os.Stat(filepath.Join(assets[0], want)); err != nil {
			t.Errorf("asset lacks %s: %v", want, err)
		}
	}
	for _, unwanted := range []string{"cdk", ".git"} {
		if _, err := os.Stat(filepath.Join(assets[0], unwanted)); err == nil {
			t.Errorf("asset includes %s", unwanted)
		}
	}

	tmpl, err := cdkout.Template(dir, "Spout")
	if err != nil {
		t.Fatal(err)
	}
	outputs, _ := tmpl["Outputs"].(map[string]any)
	for _, o := range []string{"TaskRoleArn", "QueryRoleName", "ClusterName", "LogGroupName", "AlarmTopicArn"} {
		if _, ok := outputs[o]; !ok {
			t.Errorf("runner stack has no %s output; the README uses it", o)
		}
	}
}

func TestLoadProps(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("conf/spout.yaml", "schedules: {daily: rate(1 day)}\n")
	write("repo/Dockerfile", "FROM scratch\n")

	p, err := loadProps(write("ok.yaml", `
config: conf/spout.yaml
image: {directory: repo}
cpu: 512
memoryMiB: 1024
createVpc: {maxAzs: 3}
secrets:
  DSN: {secret: db, field: dsn}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.StackName != "Spout" || p.MemberStackName != "SpoutMemberRole" {
		t.Errorf("default stack names: %q, %q", p.StackName, p.MemberStackName)
	}
	if p.configText != "schedules: {daily: rate(1 day)}\n" {
		t.Errorf("config read relative to the props file: %q", p.configText)
	}
	if want := filepath.Join(dir, "repo"); p.Image.Directory != want {
		t.Errorf("image.directory = %q, want %q", p.Image.Directory, want)
	}
	r := p.runnerProps()
	if r.CPU != 512 || r.MemoryMiB != 1024 || r.CreateVpc.MaxAzs != 3 || r.Secrets["DSN"].Field != "dsn" {
		t.Errorf("runner props: %+v", r)
	}

	p, err = loadProps(write("scaled.yaml", `
config: conf/spout.yaml
image: {repository: spout, tag: v1}
stopTimeout: 90s
metrics:
  namespace: Inventory
  cronPeriods: {daily: 12h}
shards: 8
maxConcurrency: 4
serve:
  peer: 10.0.0.0/16
  passwordSecret: {secret: spout/serve, field: password}
`))
	if err != nil {
		t.Fatal(err)
	}
	r = p.runnerProps()
	if r.StopTimeout != 90*time.Second || r.MetricsNamespace != "Inventory" || r.CronPeriods["daily"] != 12*time.Hour ||
		r.Shards != 8 || r.MaxConcurrency != 4 || r.Serve == nil || r.Serve.PasswordSecret.Secret != "spout/serve" || r.Serve.Peer == nil {
		t.Errorf("scaled runner props: %+v (serve %+v)", r, r.Serve)
	}

	for _, tt := range []struct{ name, text, want string }{
		{"bad-duration.yaml", "config: conf/spout.yaml\nstopTimeout: 30\n", "into time.Duration"},
		{"serve-no-peer.yaml", "config: conf/spout.yaml\nserve: {passwordSecret: {secret: pw}}\n", "serve.peer: required"},
		{"typo.yaml", "config: conf/spout.yaml\ncpus: 512\n", "field cpus not found"},
		{"noconfig.yaml", "cpu: 256\n", "config: required"},
		{"missing.yaml", "config: nope.yaml\n", "config: open"},
		{"half-env.yaml", "config: conf/spout.yaml\naccount: \"111111111111\"\n", "set both account and region"},
		{"vpc-no-env.yaml", "config: conf/spout.yaml\nvpcId: vpc-0123\n", "vpcId needs account and region"},
		{"same-names.yaml", "config: conf/spout.yaml\nstackName: A\nmemberStackName: A\n", "must differ"},
		{"no-dockerfile.yaml", "config: conf/spout.yaml\nimage: {directory: conf}\n", "no Dockerfile"},
	} {
		_, err := loadProps(write(tt.name, tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s: got %v, want an error naming the file and containing %q", tt.name, err, tt.want)
		}
	}
}

// TestReadmeExampleSynthesizes builds the app from the README's example of the stop,
// shard and serve keys, with the shipped spout.yaml, and checks it synthesizes cleanly.
func TestReadmeExampleSynthesizes(t *testing.T) {
	dir := t.TempDir()
	config, err := os.ReadFile("spout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spout.yaml"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	props := `config: spout.yaml
image: {repository: spout, tag: v1}
stopTimeout: 60s
shards: 4
serve:
  peer: 10.0.0.0/16
  passwordSecret: {secret: spout/serve, field: password}
`
	path := filepath.Join(dir, "props.yaml")
	if err := os.WriteFile(path, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	context := map[string]any{propsFileContext: path}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &context})
	if err := build(app); err != nil {
		t.Fatal(err)
	}
	dirOut := *app.Synth(nil).Directory()
	messages, err := cdkout.Messages(dirOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range messages["Spout"] {
		if m.Level == "error" {
			t.Errorf("%s: %s", m.Path, m.Text)
		}
	}
	tmpl, err := cdkout.Template(dirOut, "Spout")
	if err != nil {
		t.Fatal(err)
	}
	var machines, services int
	for _, r := range tmpl["Resources"].(map[string]any) {
		switch r.(map[string]any)["Type"] {
		case "AWS::StepFunctions::StateMachine":
			machines++
		case "AWS::ECS::Service":
			services++
		}
	}
	if machines == 0 || services != 1 {
		t.Errorf("%d state machines, %d services: want one per group and one", machines, services)
	}
}
