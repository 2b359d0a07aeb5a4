package load

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/alibaba"
	"github.com/flowsift/flowsift/analyze/policy/aws"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

// Files reads the named policy files into one set.
func Files(paths []string) (*policy.Set, error) {
	l := newLoader()
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
	for i := range names {
		if err := l.add(names[i], data[i]); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

type loader struct {
	aws   *aws.Input
	ali   *alibaba.Input
	used  map[string]bool
	files []string
}

func newLoader() *loader {
	return &loader{aws: aws.NewInput(), ali: alibaba.NewInput(), used: map[string]bool{}}
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
		case aws.Detect(d.Root):
			l.used["aws"] = true
			return l.aws.Add(d)
		}
		return fmt.Errorf("%s: $: unknown policy shape (top-level keys: %s); expected an AWS describe-* output, an Alibaba Cloud Describe* response or an Elastic Cloud traffic-filter rule set listing", name, strings.Join(d.Root.Keys(), ", "))
	}
	return fmt.Errorf("%s: not a JSON policy file this version understands", name)
}

func (l *loader) finish() (*policy.Set, error) {
	set := &policy.Set{Files: l.files}
	if l.used["aws"] {
		l.aws.Build(set)
	}
	if l.used["alibaba"] {
		l.ali.Build(set)
	}
	set.Index()
	return set, nil
}
