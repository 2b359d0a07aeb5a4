package spool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.Put(bytes.Repeat([]byte{byte('a' + i)}, 10+i)); err != nil {
			t.Fatal(err)
		}
	}
	// A second process sees the same entries, oldest first, and numbers
	// its own after them.
	s2, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Len() != 5 || s2.Bytes() != s.Bytes() {
		t.Fatalf("reopened: %d entries %d bytes, want 5 and %d", s2.Len(), s2.Bytes(), s.Bytes())
	}
	if _, err := s2.Put([]byte("zz")); err != nil {
		t.Fatal(err)
	}
	var got []string
	var buf []byte
	for {
		seq, p, ok, err := s2.Oldest(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, string(p[:1]))
		buf = p
		if err := s2.Remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	if want := "abcdez"; len(got) != 6 || got[0]+got[1]+got[2]+got[3]+got[4]+got[5] != want {
		t.Fatalf("order %v, want %s", got, want)
	}
	if s2.Bytes() != 0 {
		t.Fatalf("bytes after draining: %d", s2.Bytes())
	}
}

func TestBound(t *testing.T) {
	dir := t.TempDir()
	const max = 1000
	s, err := Open(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 300)
	n := 0
	for {
		_, err := s.Put(payload)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n > 10 {
			t.Fatal("bound not enforced")
		}
	}
	if want := max / (300 + hdrSize); n != want {
		t.Fatalf("%d payloads fit, want %d", n, want)
	}
	if s.Bytes() > max {
		t.Fatalf("spool holds %d bytes, bound %d", s.Bytes(), max)
	}
	var disk int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, _ := e.Info()
		disk += info.Size()
	}
	if disk != s.Bytes() || disk > max {
		t.Fatalf("disk %d bytes, spool says %d, bound %d", disk, s.Bytes(), max)
	}
	// Removing one makes room again.
	seq, _, _, err := s.Oldest(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Remove(seq)
	if _, err := s.Put(payload); err != nil {
		t.Fatalf("after remove: %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0)
	seq, _ := s.Put([]byte("hello world"))
	s.Put([]byte("second"))
	p := s.path(seq)
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o600)
	_, _, _, err := s.Oldest(nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != p {
		t.Fatalf("got %v, want a CorruptError naming %s", err, p)
	}
	if err := s.Quarantine(seq); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p + ".bad"); err != nil {
		t.Fatal("quarantined file missing")
	}
	_, got, ok, err := s.Oldest(nil)
	if err != nil || !ok || string(got) != "second" {
		t.Fatalf("after quarantine: %q %v %v", got, ok, err)
	}
	// Leftover temporary files are cleaned on open.
	os.WriteFile(filepath.Join(dir, "x.spool.tmp"), []byte("x"), 0o600)
	s2, _ := Open(dir, 0)
	if _, err := os.Stat(filepath.Join(dir, "x.spool.tmp")); !os.IsNotExist(err) || s2.Len() != 1 {
		t.Fatalf("tmp not cleaned or wrong count %d", s2.Len())
	}
}
