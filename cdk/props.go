package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

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

	QueryRoleName   string               `yaml:"queryRoleName"`
	ReadOnlyActions []string             `yaml:"readOnlyActions"`
	Environment     map[string]string    `yaml:"environment"`
	Secrets         map[string]secretRef `yaml:"secrets"`
	AlarmEmail      string               `yaml:"alarmEmail"`
	Tags            map[string]string    `yaml:"tags"`

	StopTimeout time.Duration `yaml:"stopTimeout"`
	Metrics     struct {
		Disabled    bool                     `yaml:"disabled"`
		Namespace   string                   `yaml:"namespace"`
		CronPeriods map[string]time.Duration `yaml:"cronPeriods"`
	} `yaml:"metrics"`
	Shards         int `yaml:"shards"`
	MaxConcurrency int `yaml:"maxConcurrency"`
	Serve          *struct {
		// Peer is an IPv4 CIDR or a managed prefix list id (pl-...).
		Peer           string    `yaml:"peer"`
		Port           int       `yaml:"port"`
		PasswordSecret secretRef `yaml:"passwordSecret"`
		TLSCertSecret  secretRef `yaml:"tlsCertSecret"`
		TLSKeySecret   secretRef `yaml:"tlsKeySecret"`
		DesiredCount   int       `yaml:"desiredCount"`
		CPU            int       `yaml:"cpu"`
		MemoryMiB      int       `yaml:"memoryMiB"`
	} `yaml:"serve"`

	// configText is the content of Config, read relative to the props file.
	configText string
}

type secretRef struct {
	Secret string `yaml:"secret"`
	Field  string `yaml:"field"`
}

func (s secretRef) ref() spoutcdk.SecretRef {
	return spoutcdk.SecretRef{Secret: s.Secret, Field: s.Field}
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
	if p.Serve != nil && p.Serve.Peer == "" {
		return nil, fmt.Errorf("%s: serve.peer: required: the CIDR (e.g. 10.0.0.0/16) or prefix list (pl-...) that may connect", path)
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
		StopTimeout:      p.StopTimeout,
		DisableMetrics:   p.Metrics.Disabled,
		MetricsNamespace: p.Metrics.Namespace,
		CronPeriods:      p.Metrics.CronPeriods,
		Shards:           p.Shards,
		MaxConcurrency:   p.MaxConcurrency,
	}
	if s := p.Serve; s != nil {
		peer := awsec2.Peer_Ipv4(jsii.String(s.Peer))
		if strings.HasPrefix(s.Peer, "pl-") {
			peer = awsec2.Peer_PrefixList(jsii.String(s.Peer))
		}
		r.Serve = &spoutcdk.ServeOptions{
			Peer:           peer,
			Port:           s.Port,
			PasswordSecret: s.PasswordSecret.ref(),
			TLSCertSecret:  s.TLSCertSecret.ref(),
			TLSKeySecret:   s.TLSKeySecret.ref(),
			DesiredCount:   s.DesiredCount,
			CPU:            s.CPU,
			MemoryMiB:      s.MemoryMiB,
		}
	}
	if p.CreateVpc != nil {
		r.CreateVpc = &spoutcdk.VpcOptions{MaxAzs: p.CreateVpc.MaxAzs, NatGateways: p.CreateVpc.NatGateways}
	}
	if len(p.Secrets) > 0 {
		r.Secrets = map[string]spoutcdk.SecretRef{}
		for name, s := range p.Secrets {
			r.Secrets[name] = s.ref()
		}
	}
	return r
}
