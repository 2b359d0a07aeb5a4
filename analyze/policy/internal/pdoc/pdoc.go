// Package pdoc walks decoded JSON/YAML documents while tracking the JSON path
// of every value, so loader errors name the file and the exact path
// ("file: $.SecurityGroups[0].IpPermissions[1].FromPort: ..."). It leaves the
// meaning of the values to the provider loaders.
package pdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is one decoded document. The first error met while walking it is kept
// in Err; walkers return zero values after an error so loaders can read
// straight through and check Err once.
type Doc struct {
	File string
	Root Node
	Err  error
}

// Node is a value at a path.
type Node struct {
	d    *Doc
	v    any
	path string
	ok   bool // the key was present
}

// ParseJSON decodes data as one JSON document. A syntax error names the
// line and column.
func ParseJSON(file string, data []byte) (*Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %s", file, jsonErr(data, err))
	}
	if tok, err := dec.Token(); err == nil || tok != nil {
		off := dec.InputOffset()
		l, c := lineCol(data, off)
		return nil, fmt.Errorf("%s:%d:%d: invalid JSON: extra data after the top-level value", file, l, c)
	}
	d := &Doc{File: file}
	d.Root = Node{d: d, v: v, path: "$", ok: true}
	return d, nil
}

// ParseYAML decodes data as one YAML document with string keys.
func ParseYAML(file string, data []byte) (*Doc, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v", file, err)
	}
	d := &Doc{File: file}
	d.Root = Node{d: d, v: normYAML(v), path: "$", ok: true}
	return d, nil
}

func normYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normYAML(e)
		}
		return x
	}
	return v
}

func jsonErr(data []byte, err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		l, c := lineCol(data, e.Offset)
		return fmt.Sprintf("line %d, column %d: invalid JSON: %v", l, c, e)
	case *json.UnmarshalTypeError:
		l, c := lineCol(data, e.Offset)
		return fmt.Sprintf("line %d, column %d: invalid JSON: %v", l, c, e)
	}
	if err.Error() == "EOF" || err.Error() == "unexpected EOF" {
		return "invalid JSON: unexpected end of input"
	}
	return "invalid JSON: " + err.Error()
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Failf records an error at n's path (the first one wins).
func (n Node) Failf(format string, args ...any) {
	if n.d == nil || n.d.Err != nil {
		return
	}
	n.d.Err = fmt.Errorf("%s: %s: %s", n.d.File, n.path, fmt.Sprintf(format, args...))
}

// Path is the JSON path of n.
func (n Node) Path() string { return n.path }

// Where is "file: path", for warnings and rule origins.
func (n Node) Where() string {
	if n.d == nil {
		return n.path
	}
	return n.d.File + ": " + n.path
}

// Present reports whether the value exists and is not null.
func (n Node) Present() bool { return n.ok && n.v != nil }

// Raw is the decoded value.
func (n Node) Raw() any { return n.v }

// IsMap reports whether n is an object.
func (n Node) IsMap() bool { _, ok := n.v.(map[string]any); return ok }

// IsList reports whether n is an array.
func (n Node) IsList() bool { _, ok := n.v.([]any); return ok }

// Key returns the member k of an object (absent: a node that is not
// Present). A non-object records an error.
func (n Node) Key(k string) Node {
	c := Node{d: n.d, path: n.path + "." + k}
	if !n.Present() {
		return c
	}
	m, ok := n.v.(map[string]any)
	if !ok {
		n.Failf("expected an object, got %s", kind(n.v))
		return c
	}
	c.v, c.ok = m[k]
	return c
}

// Has reports whether object n has key k.
func (n Node) Has(k string) bool {
	m, ok := n.v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[k]
	return ok
}

// Keys returns the keys of an object, sorted.
func (n Node) Keys() []string {
	m, ok := n.v.(map[string]any)
	if !ok {
		return nil
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// List returns the elements of an array; absent or null is empty. A
// non-array records an error.
func (n Node) List() []Node {
	if !n.Present() {
		return nil
	}
	a, ok := n.v.([]any)
	if !ok {
		n.Failf("expected an array, got %s", kind(n.v))
		return nil
	}
	out := make([]Node, len(a))
	for i, v := range a {
		out[i] = Node{d: n.d, v: v, path: n.path + "[" + strconv.Itoa(i) + "]", ok: true}
	}
	return out
}

// Wrapped returns the elements of an Alibaba-style wrapped list
// ({"Permission": [...]}) or of a bare array.
func (n Node) Wrapped(inner string) []Node {
	if !n.Present() {
		return nil
	}
	if n.IsList() {
		return n.List()
	}
	if n.IsMap() {
		return n.Key(inner).List()
	}
	n.Failf("expected an object with %q or an array, got %s", inner, kind(n.v))
	return nil
}

// Str returns a string value; absent/null gives "". Numbers and booleans
// are accepted as their text (providers mix them).
func (n Node) Str() string {
	if !n.Present() {
		return ""
	}
	switch x := n.v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	n.Failf("expected a string, got %s", kind(n.v))
	return ""
}

// ReqStr is Str for a required non-empty string.
func (n Node) ReqStr() string {
	if !n.Present() {
		n.Failf("missing")
		return ""
	}
	s := n.Str()
	if s == "" {
		n.Failf("empty")
	}
	return s
}

// Int returns an integer (numbers or numeric strings); def when absent.
func (n Node) Int(def int64) int64 {
	if !n.Present() {
		return def
	}
	var s string
	switch x := n.v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return def
		}
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x > math.MaxInt64 {
			n.Failf("number out of range")
			return def
		}
		return int64(x)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			n.Failf("expected an integer, got %v", x)
			return def
		}
		return int64(x)
	default:
		n.Failf("expected an integer, got %s", kind(n.v))
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n.Failf("expected an integer, got %q", s)
		return def
	}
	return v
}

// Bool returns a boolean (true/false or their text); def when absent.
func (n Node) Bool(def bool) bool {
	if !n.Present() {
		return def
	}
	switch x := n.v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	n.Failf("expected true or false, got %s", kind(n.v))
	return def
}

// Strs returns a list of strings: an array, a single string, or (with
// comma) a comma-separated string.
func (n Node) Strs(comma bool) []string {
	if !n.Present() {
		return nil
	}
	if n.IsList() {
		var out []string
		for _, e := range n.List() {
			out = append(out, strings.TrimSpace(e.Str()))
		}
		return out
	}
	s := n.Str()
	if !comma {
		return []string{s}
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, int, int64, uint64, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}
