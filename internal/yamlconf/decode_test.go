package yamlconf

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type size int64

func (s *size) UnmarshalYAML(n *yaml.Node) error {
	if n.Value != "big" {
		return fmt.Errorf("%q is not big", n.Value)
	}
	*s = 1 << 20
	return nil
}

type inner struct {
	Rows int `yaml:"rows"`
}

type target struct {
	Name    string            `yaml:"name" required:"true"`
	Mode    string            `yaml:"mode" enum:"a,b"`
	On      *bool             `yaml:"on"`
	Wait    time.Duration     `yaml:"wait"`
	Tags    []string          `yaml:"tags"`
	Headers map[string]string `yaml:"headers"`
	Inner   inner             `yaml:"inner"`
	Size    size              `yaml:"size"`
	Hidden  string
	Skipped string `yaml:"-"`
}

type extra struct {
	Type string `yaml:"type"`
}

func decode(t *testing.T, text string, v ...any) (Decoder, []string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	var seen []string
	d := Decoder{Seen: func(v any, m Mapping) { seen = append(seen, fmt.Sprintf("%T %d keys", v, len(m.Keys))) }}
	d.Decode(&doc, "top", v...)
	return d, seen
}

func TestDecode(t *testing.T) {
	var got target
	var e extra
	d, seen := decode(t, `
name: x
type: t
mode: b
on: false
wait: 90s
tags: [a, b]
headers: {A: "1"}
inner: {rows: 3}
size: big
`, &got, &e)
	if errs := d.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got.Name != "x" || got.Mode != "b" || got.On == nil || *got.On || got.Wait != 90*time.Second ||
		strings.Join(got.Tags, ",") != "a,b" || got.Headers["A"] != "1" || got.Inner.Rows != 3 || got.Size != 1<<20 || e.Type != "t" {
		t.Errorf("decoded %+v %+v", got, e)
	}
	if want := "*yamlconf.inner 1 keys,*yamlconf.target 9 keys,*yamlconf.extra 9 keys"; strings.Join(seen, ",") != want {
		t.Errorf("seen %v, want %s", seen, want)
	}
}

// Every problem is reported, each at its line and column.
func TestDecodeReportsEveryProblem(t *testing.T) {
	var got target
	d, _ := decode(t, `
mode: c
on: maybe
wait: -5s
tags: a
headers: [x]
inner: {rows: -1, cols: 2}
size: small
Hidden: x
Skipped: y
on: true
`, &got)
	var msgs []string
	for _, e := range d.Errors() {
		msgs = append(msgs, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Text()))
	}
	want := []string{
		`2:7 top.mode: "c" is not one of a, b`,
		`3:5 top.on: want true or false, got "maybe"`,
		`4:7 top.wait: "-5s" is not a duration such as 90s, 5m or 1h`,
		`5:7 top.tags: want a list, e.g. [a, b], got "a"`,
		`6:10 top.headers: want a mapping, got a list`,
		`7:15 top.inner.rows: must not be negative`,
		`7:19 top.inner: unknown key "cols" (did you mean "rows"?)`,
		`8:7 top.size: "small" is not big`,
		`9:1 top: unknown key "Hidden" (known: name, mode, on, wait, tags, headers, inner, size)`,
		`10:1 top: unknown key "Skipped" (known: name, mode, on, wait, tags, headers, inner, size)`,
		`11:1 top: on is set twice (first at line 3)`,
		`2:1 top: name is required`,
	}
	if got, want := strings.Join(msgs, "\n"), strings.Join(want, "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// flag is written as true/false or as a mapping of settings, and decodes itself.
type flag struct {
	On    bool
	Level int `yaml:"level"`
}

func (f *flag) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		if n.Decode(&f.On) != nil {
			d.Errorf(n, path, "want true, false or a mapping, got %s", Describe(n))
		}
		return
	}
	d.Decode(n, path, f)
	f.On = true
}

type withFlags struct {
	A *flag `yaml:"a"`
	B flag  `yaml:"b"`
	C flag  `yaml:"c"`
	D flag  `yaml:"d"`
}

// A NodeDecoder's problems keep their own positions, inside the mapping it decodes.
func TestNodeDecoder(t *testing.T) {
	var got withFlags
	d, seen := decode(t, `
a: true
b: {level: 2}
c: {levle: 1}
d: often
`, &got)
	var msgs []string
	for _, e := range d.Errors() {
		msgs = append(msgs, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Text()))
	}
	want := `4:5 top.c: unknown key "levle" (did you mean "level"?)` + "\n" + `5:4 top.d: want true, false or a mapping, got "often"`
	if strings.Join(msgs, "\n") != want {
		t.Errorf("errors:\n%s\nwant\n%s", strings.Join(msgs, "\n"), want)
	}
	if got.A == nil || !got.A.On || !got.B.On || got.B.Level != 2 || got.D.On {
		t.Errorf("decoded %+v %+v", got.A, got)
	}
	if !slices.Contains(seen, "*yamlconf.flag 1 keys") {
		t.Errorf("seen %v: the mappings a NodeDecoder decodes are reported", seen)
	}
}
