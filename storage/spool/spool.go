package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrFull is returned by Put when the payload would take the spool over
// its bound.
var ErrFull = errors.New("spool full")

// CorruptError names a spooled file that cannot be read back (torn write
// on a filesystem without atomic rename, disk error, foreign file).
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string { return e.Path + ": corrupt spool file: " + e.Reason }

const (
	magic   = "FSSPOOL1"
	hdrSize = len(magic) + 4 + 8 // magic, crc32c(payload), len(payload)
	suffix  = ".spool"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Spool is a directory of numbered files, oldest first. It is safe for
// concurrent use.
type Spool struct {
	dir string
	max int64

	mu    sync.Mutex
	seqs  []uint64         // in order
	sizes map[uint64]int64 // file size by seq
	bytes int64
	next  uint64
}

// Open opens (creating it if needed) the spool in dir, bounded to maxBytes
// of files (<= 0: unbounded). Files already there, left by an earlier run,
// are kept in their order; leftover temporary files are removed.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, max: maxBytes, sizes: map[uint64]int64{}, next: 1}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, suffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		s.seqs = append(s.seqs, seq)
		s.sizes[seq] = info.Size()
		s.bytes += info.Size()
		if seq >= s.next {
			s.next = seq + 1
		}
	}
	sort.Slice(s.seqs, func(i, j int) bool { return s.seqs[i] < s.seqs[j] })
	return s, nil
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Max is the bound in bytes (<= 0: unbounded).
func (s *Spool) Max() int64 { return s.max }

// Len is the number of spooled payloads.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

// Bytes is the size of the spooled files.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

func (s *Spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, suffix))
}

// Fits reports whether a payload of n bytes would fit now.
func (s *Spool) Fits(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max <= 0 || s.bytes+int64(hdrSize+n) <= s.max
}

// Put appends payload as the newest entry and returns its sequence number.
// The file is synced before Put returns. It fails with ErrFull (wrapped)
// when the spool would exceed its bound.
func (s *Spool) Put(payload []byte) (uint64, error) {
	size := int64(hdrSize + len(payload))
	s.mu.Lock()
	if s.max > 0 && s.bytes+size > s.max {
		used := s.bytes
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %d bytes used of %d, %d more needed (%s)", ErrFull, used, s.max, size, s.dir)
	}
	seq := s.next
	s.next++
	// Reserve the space now so concurrent Puts cannot overshoot the bound.
	s.bytes += size
	s.mu.Unlock()

	if err := s.write(seq, payload); err != nil {
		s.mu.Lock()
		s.bytes -= size
		s.mu.Unlock()
		return 0, err
	}
	s.mu.Lock()
	i := sort.Search(len(s.seqs), func(i int) bool { return s.seqs[i] > seq })
	s.seqs = append(s.seqs, 0)
	copy(s.seqs[i+1:], s.seqs[i:])
	s.seqs[i] = seq
	s.sizes[seq] = size
	s.mu.Unlock()
	return seq, nil
}

func (s *Spool) write(seq uint64, payload []byte) error {
	final := s.path(seq)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	var hdr [hdrSize]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint32(hdr[len(magic):], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint64(hdr[len(magic)+4:], uint64(len(payload)))
	_, err = f.Write(hdr[:])
	if err == nil {
		_, err = f.Write(payload)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}

// Oldest returns the oldest entry's sequence number and payload, read into
// dst's storage. ok is false when the spool is empty. A file that fails its
// checks gives a *CorruptError; the caller may Quarantine it.
func (s *Spool) Oldest(dst []byte) (seq uint64, payload []byte, ok bool, err error) {
	s.mu.Lock()
	if len(s.seqs) == 0 {
		s.mu.Unlock()
		return 0, dst, false, nil
	}
	seq = s.seqs[0]
	s.mu.Unlock()
	p := s.path(seq)
	f, err := os.Open(p)
	if err != nil {
		return seq, dst, true, err
	}
	defer f.Close()
	var hdr [hdrSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return seq, dst, true, &CorruptError{p, "short header"}
	}
	if string(hdr[:len(magic)]) != magic {
		return seq, dst, true, &CorruptError{p, "bad magic"}
	}
	sum := binary.LittleEndian.Uint32(hdr[len(magic):])
	n := binary.LittleEndian.Uint64(hdr[len(magic)+4:])
	info, err := f.Stat()
	if err != nil {
		return seq, dst, true, err
	}
	if n != uint64(info.Size())-uint64(hdrSize) {
		return seq, dst, true, &CorruptError{p, fmt.Sprintf("length %d, file holds %d", n, info.Size()-int64(hdrSize))}
	}
	if uint64(cap(dst)) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if _, err := io.ReadFull(f, dst); err != nil {
		return seq, dst, true, &CorruptError{p, err.Error()}
	}
	if crc32.Checksum(dst, castagnoli) != sum {
		return seq, dst, true, &CorruptError{p, "checksum mismatch"}
	}
	return seq, dst, true, nil
}

// Remove deletes the entry seq (after its payload was stored elsewhere).
func (s *Spool) Remove(seq uint64) error {
	return s.drop(seq, func(p string) error { return os.Remove(p) })
}

// Quarantine renames the entry seq to NAME.bad so it is kept for people
// but no longer replayed nor counted against the bound.
func (s *Spool) Quarantine(seq uint64) error {
	return s.drop(seq, func(p string) error { return os.Rename(p, p+".bad") })
}

func (s *Spool) drop(seq uint64, op func(string) error) error {
	if err := op(s.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.seqs {
		if q == seq {
			s.seqs = append(s.seqs[:i], s.seqs[i+1:]...)
			s.bytes -= s.sizes[seq]
			delete(s.sizes, seq)
			break
		}
	}
	return nil
}
