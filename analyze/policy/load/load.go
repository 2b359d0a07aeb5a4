package load

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/alibaba"
	"github.com/flowsift/flowsift/analyze/policy/aws"
	"github.com/flowsift/flowsift/analyze/policy/elastic"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
	"github.com/flowsift/flowsift/analyze/policy/native"
)

// Files reads the named policy files into one set.
func Files(paths []string) (*policy.Set, error) {
	l := newLoader()
	l.el.ReadFile = os.ReadFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := l.add(p, data); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

// Data is Files for in-memory contents (tests, fuzzing): names[i] is the
// file name used in errors and for ids taken from names.
func Data(names []string, data [][]byte) (*policy.Set, error) {
	l := newLoader()
	l.el.ReadFile = func(path string) ([]byte, error) {
		for i, n := range names {
			if filepath.Clean(n) == filepath.Clean(path) {
				return data[i], nil
			}
		}
		return nil, fmt.Errorf("%s: not among the given files", path)
	}
	for i := range names {
		if err := l.add(names[i], data[i]); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

type loader struct {
	aws     *aws.Input
	ali     *alibaba.Input
	el      *elastic.Input
	used    map[string]bool
	files   []string
	natives []*pdoc.Doc
}

func newLoader() *loader {
	return &loader{aws: aws.NewInput(), ali: alibaba.NewInput(), el: elastic.NewInput(), used: map[string]bool{}}
}

func (l *loader) add(name string, data []byte) error {
	l.files = append(l.files, name)
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(t) == 0 {
		return fmt.Errorf("%s: empty policy file", name)
	}
	if t[0] == '{' || t[0] == '[' {
		d, err := pdoc.ParseJSON(name, data)
		if err != nil {
			return err
		}
		switch {
		case alibaba.Detect(d.Root): // before AWS: both use SecurityGroups / NetworkAcls
			l.used["alibaba"] = true
			return l.ali.Add(d)
		case elastic.DetectJSON(d.Root):
			l.used["elastic"] = true
			return l.el.AddJSON(d)
		case aws.Detect(d.Root):
			l.used["aws"] = true
			return l.aws.Add(d)
		}
		return fmt.Errorf("%s: $: unknown policy shape (top-level keys: %s); expected an AWS describe-* output, an Alibaba Cloud Describe* response or an Elastic Cloud traffic-filter rule set listing", name, strings.Join(d.Root.Keys(), ", "))
	}
	d, err := pdoc.ParseYAML(name, data)
	if err != nil {
		return err
	}
	switch {
	case native.Detect(d.Root):
		l.natives = append(l.natives, d)
		return d.Err
	case elastic.DetectBindings(d.Root):
		l.used["elastic"] = true
		return l.el.AddBindings(d)
	case elastic.DetectNodeConfig(d.Root):
		l.used["elastic"] = true
		return l.el.AddNodeConfig(d)
	}
	return fmt.Errorf("%s: $: unknown policy shape (top-level keys: %s); expected a bindings file (elastic_cloud, elasticsearch), an elasticsearch.yml or a flowsift policy YAML", name, strings.Join(d.Root.Keys(), ", "))
}

func (l *loader) finish() (*policy.Set, error) {
	set := &policy.Set{Files: l.files}
	if l.used["aws"] {
		l.aws.Build(set)
	}
	if l.used["alibaba"] {
		l.ali.Build(set)
	}
	if l.used["elastic"] {
		l.el.Build(set)
	}
	for _, d := range l.natives {
		if err := native.Load(d, set); err != nil {
			return nil, err
		}
	}
	set.Index()
	return set, nil
}
