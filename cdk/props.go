package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spoutdev/spout/cdk/spoutcdk"
	"gopkg.in/yaml.v3"
)

// appProps is the props file (props.yaml by default): everything an operator changes to
// deploy Spout, so nobody edits Go to deploy. Field comments are in props.yaml.
type appProps struct {
	StackName       string `yaml:"stackName"`
	MemberStackName string `yaml:"memberStackName"`
	Account         string `yaml:"account"`
	Region          string `yaml:"region"`

	Config          string `yaml:"config"`
	ConfigParameter string `yaml:"configParameter"`
	Image           struct {
		Directory  string `yaml:"directory"`
		Repository string `yaml:"repository"`
		Tag        string `yaml:"tag"`
	} `yaml:"image"`

	CPU              int `yaml:"cpu"`
	MemoryMiB        int `yaml:"memoryMiB"`
	LogRetentionDays int `yaml:"logRetentionDays"`

	VpcID     string `yaml:"vpcId"`
	CreateVpc *struct {
		MaxAzs      int `yaml:"maxAzs"`
		NatGateways int `yaml:"natGateways"`
	} `yaml:"createVpc"`

	QueryRoleName   string            `yaml:"queryRoleName"`
	ReadOnlyActions []string          `yaml:"readOnlyActions"`
	Environment     map[string]string `yaml:"environment"`
	Secrets         map[string]struct {
		Secret string `yaml:"secret"`
		Field  string `yaml:"field"`
	} `yaml:"secrets"`
	AlarmEmail string            `yaml:"alarmEmail"`
	Tags       map[string]string `yaml:"tags"`

	// configText is the content of Config, read relative to the props file.
	configText string
}

// loadProps reads a props file. Unknown keys are errors, so a typo cannot silently fall
// back to a default. Config and Image.Directory are relative to the file's directory.
func loadProps(path string) (*appProps, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	p := &appProps{StackName: "Spout", MemberStackName: "SpoutMemberRole"}
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	if p.StackName == "" || p.MemberStackName == "" {
		return nil, fmt.Errorf("%s: stackName and memberStackName must not be empty", path)
	}
	if p.StackName == p.MemberStackName {
		return nil, fmt.Errorf("%s: stackName and memberStackName must differ", path)
	}
	if (p.Account == "") != (p.Region == "") {
		return nil, fmt.Errorf("%s: set both account and region, or neither", path)
	}
	if p.VpcID != "" && p.Account == "" {
		return nil, fmt.Errorf("%s: vpcId needs account and region: the VPC is looked up in that account", path)
	}
	if p.Config == "" {
		return nil, fmt.Errorf("%s: config: required: the spout.yaml to deploy", path)
	}

	dir := filepath.Dir(path)
	text, err := os.ReadFile(filepath.Join(dir, p.Config))
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", path, err)
	}
	p.configText = string(text)
	if p.Image.Directory != "" {
		abs, err := filepath.Abs(filepath.Join(dir, p.Image.Directory))
		if err != nil {
			return nil, fmt.Errorf("%s: image.directory: %w", path, err)
		}
		if _, err := os.Stat(filepath.Join(abs, "Dockerfile")); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: image.directory: no Dockerfile in %s", path, abs)
			}
			return nil, fmt.Errorf("%s: image.directory: %w", path, err)
		}
		p.Image.Directory = abs
	}
	return p, nil
}

// runnerProps maps the props file onto the construct's props.
func (p *appProps) runnerProps() *spoutcdk.QueryRunnerProps {
	r := &spoutcdk.QueryRunnerProps{
		Config:           p.configText,
		ConfigParameter:  p.ConfigParameter,
		ImageDirectory:   p.Image.Directory,
		ImageRepository:  p.Image.Repository,
		ImageTag:         p.Image.Tag,
		CPU:              p.CPU,
		MemoryMiB:        p.MemoryMiB,
		LogRetentionDays: p.LogRetentionDays,
		VpcID:            p.VpcID,
		QueryRoleName:    p.QueryRoleName,
		ReadOnlyActions:  p.ReadOnlyActions,
		Environment:      p.Environment,
		AlarmEmail:       p.AlarmEmail,
	}
	if p.CreateVpc != nil {
		r.CreateVpc = &spoutcdk.VpcOptions{MaxAzs: p.CreateVpc.MaxAzs, NatGateways: p.CreateVpc.NatGateways}
	}
	if len(p.Secrets) > 0 {
		r.Secrets = map[string]spoutcdk.SecretRef{}
		for name, s := range p.Secrets {
			r.Secrets[name] = spoutcdk.SecretRef{Secret: s.Secret, Field: s.Field}
		}
	}
	return r
}
