package input

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flowsift/flowsift/flowlog"
)

// Input is one input after expansion: a file, standard input ("-"), or a
// problem found while expanding (Err set: the input is unusable).
type Input struct {
	Path string // as reported: the argument, joined with the path below it for directories
	Open func() (io.ReadCloser, error)
	Err  *flowlog.Problem
}

// Expand turns arguments into inputs (FORMATS.md 2.1): files as given,
// directories walked recursively in byte-wise lexical order (names starting
// with "." skipped, symlinks to files followed, to directories not), globs
// expanded when the argument does not exist as written, "-" for standard
// input.
func Expand(args []string, stdin io.Reader) []Input {
	var out []Input
	for _, arg := range args {
		if arg == "-" {
			out = append(out, Input{Path: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		st, err := os.Stat(arg)
		if err != nil {
			if os.IsNotExist(err) && strings.ContainsAny(arg, "*?[") {
				out = append(out, expandGlob(arg)...)
				continue
			}
			out = append(out, unreadable(arg, err))
			continue
		}
		if st.IsDir() {
			out = append(out, walk(arg)...)
			continue
		}
		out = append(out, fileInput(arg))
	}
	return out
}

func fileInput(path string) Input {
	return Input{Path: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

func unreadable(path string, err error) Input {
	return Input{Path: path, Err: &flowlog.Problem{Path: path, Notice: flowlog.NoticeUnreadable, Detail: errText(err)}}
}

// errText strips the path that os errors repeat.
func errText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

func expandGlob(pattern string) []Input {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return []Input{unreadable(pattern, err)}
	}
	if len(matches) == 0 {
		return []Input{{Path: pattern, Err: &flowlog.Problem{Path: pattern, Notice: flowlog.NoticeUnreadable, Detail: "no file matches the pattern"}}}
	}
	sort.Strings(matches)
	var out []Input
	for _, m := range matches {
		st, err := os.Stat(m)
		switch {
		case err != nil:
			out = append(out, unreadable(m, err))
		case st.IsDir():
			out = append(out, walk(m)...)
		default:
			out = append(out, fileInput(m))
		}
	}
	return out
}

// walk lists the files below dir in byte-wise lexical order of their paths.
func walk(dir string) []Input {
	var out []Input
	var visit func(d string)
	visit = func(d string) {
		ents, err := os.ReadDir(d)
		if err != nil {
			out = append(out, unreadable(d, err))
			return
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		// Lexical order of full paths: a directory's children sort after
		// "name/" and so relative to siblings as "name/"; sorting the names
		// with a trailing "/" for directories gives exactly that.
		key := func(i int) string { return names[i] }
		isDir := map[string]bool{}
		for _, e := range ents {
			if e.IsDir() {
				isDir[e.Name()] = true
			}
		}
		sort.Slice(names, func(i, j int) bool {
			a, b := key(i), key(j)
			if isDir[a] {
				a += "/"
			}
			if isDir[b] {
				b += "/"
			}
			return a < b
		})
		for _, n := range names {
			p := joinAsGiven(d, n)
			if isDir[n] {
				visit(p)
				continue
			}
			st, err := os.Stat(p) // follows symlinks
			switch {
			case err != nil:
				out = append(out, unreadable(p, err))
			case st.IsDir():
				// a symlink to a directory: not followed
			case st.Mode().IsRegular() || st.Mode()&fs.ModeNamedPipe != 0:
				out = append(out, fileInput(p))
			}
		}
	}
	visit(dir)
	return out
}

// joinAsGiven appends a name below a directory without cleaning the
// directory part: reports name the argument as given (FORMATS.md 2.1), so
// "./logs" walks to "./logs/a.log", not "logs/a.log".
func joinAsGiven(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
