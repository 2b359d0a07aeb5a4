package jsonstream

import (
	"bytes"
	"testing"

	"github.com/valyala/fastjson"
)

// checkScan compares the scan helpers with fastjson on b: a value Skip
// accepts is one fastjson parses; a string StringEnd closes and Unescape
// renders is the string fastjson returns; a number NumberEnd cuts is the
// literal fastjson keeps.
func checkScan(t testing.TB, b []byte) {
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	i := SkipWS(b, 0)
	end := Skip(b, i, MaxSkipDepth)
	if end >= 0 && SkipWS(b, end) == len(b) && err != nil {
		t.Fatalf("Skip accepts %q, fastjson does not: %v", b, err)
	}
	if err != nil || i >= len(b) {
		return
	}
	switch b[i] {
	case '"':
		e, esc := StringEnd(b, i+1)
		if e < 0 || SkipWS(b, e+1) != len(b) {
			t.Fatalf("StringEnd(%q) = %d, fastjson parsed a string", b, e)
		}
		got, ok := Unescape(nil, b[i+1:e])
		if !esc && (!ok || !bytes.Equal(got, b[i+1:e])) {
			t.Fatalf("no escapes but Unescape changed %q", b)
		}
		if ok && !bytes.Equal(got, v.GetStringBytes()) {
			t.Fatalf("Unescape(%q) = %q, fastjson %q", b, got, v.GetStringBytes())
		}
	default:
		if e, ok := NumberEnd(b, i); ok && SkipWS(b, e) == len(b) {
			if v.Type() != fastjson.TypeNumber || string(v.MarshalTo(nil)) != string(b[i:e]) {
				t.Fatalf("NumberEnd(%q) = %q, fastjson %s", b, b[i:e], v.MarshalTo(nil))
			}
		}
	}
}

func TestScan(t *testing.T) {
	long := `"` + string(bytes.Repeat([]byte("x"), 40))
	for _, c := range []struct {
		in  string
		end int // Skip's answer from 0
	}{
		{`"abc"`, 5},
		{`"a\"b"`, 6},
		{`"a\\"`, 5},
		{`"a\\\"b"`, 8},
		{long + `"`, 42},
		{long + `\"x"`, 45},
		{long, -1},
		{`"abc`, -1},
		{`{"a":[1,-2.5e+3,{"b":null}],"c":true,"d":false}`, 47},
		{`{"a":1,}`, -1},
		{`{"a\u0062":1}`, -1},
		{`[1 , 2 ]`, 8},
		{`[1,]`, -1},
		{`nan`, -1},
		{`-`, -1},
		{`+1`, -1},
		{`tru`, -1},
		{`{"a" 1}`, -1},
	} {
		if got := Skip([]byte(c.in), 0, MaxSkipDepth); got != c.end {
			t.Errorf("Skip(%s) = %d, want %d", c.in, got, c.end)
		}
		checkScan(t, []byte(c.in))
	}
	deep := bytes.Repeat([]byte("["), MaxSkipDepth+1)
	deep = append(deep, bytes.Repeat([]byte("]"), MaxSkipDepth+1)...)
	if Skip(deep, 0, MaxSkipDepth) != -1 {
		t.Error("Skip followed nesting deeper than its bound")
	}
	for _, s := range []string{`"\u00e9\u2028\n\t\/\b\f\r"`, `"\u0000"`, `"\uD83D\uDE00"`, `"\q"`, `"\u12"`, `"\u12G4"`} {
		checkScan(t, []byte(s))
	}
	if got, ok := Unescape(nil, []byte(`a\u00E9\"`)); !ok || string(got) != "aé\"" {
		t.Errorf("Unescape: %q %v", got, ok)
	}
}

// FuzzScan: the helpers never accept what fastjson rejects and render
// strings and numbers exactly as fastjson does.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e+3,{"b":null}],"c":true}`, `"a\"\\\u00e9"`, `-12.5e3`, `[]`,
		`{"insertId":"x","jsonPayload":{"connection":{"src_ip":"10.0.0.1","src_port":443}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScan(t, b) })
}
