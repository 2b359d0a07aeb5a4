package input

import (
	"bytes"
	"encoding/csv"
	"unicode/utf8"

	"github.com/flowsift/flowsift/flowlog/aws"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Kind is what detection found in an input's first bytes.
type Kind uint8

const (
	KindUnrecognized Kind = iota
	KindEmpty
	KindGzip
	KindParquet
	KindPcap
	KindPcapng
	KindJSON
	KindCWLCSV     // CloudWatch console CSV: timestamp,message
	KindAlibabaCSV // Alibaba SLS CSV export
	KindAWSText
)

// sniffLen is how much detection looks at: 4096 bytes for the binary and
// UTF-8 checks, more for the AWS text rule that scans 100 lines.
const sniffLen = 64 << 10

// Detect classifies an input by its first bytes (FORMATS.md 2.2, first
// match wins). head is what the input starts with (up to sniffLen bytes);
// atEOF says head is the whole input.
func Detect(head []byte, atEOF bool) (Kind, string) {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return KindGzip, ""
	case bytes.HasPrefix(head, []byte("PAR1")):
		return KindParquet, ""
	case len(head) >= 4 && isPcapMagic(head[:4]):
		return KindPcap, ""
	case bytes.HasPrefix(head, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		return KindPcapng, ""
	}
	if len(bytes.TrimLeft(head, " \t\r\n\v\f")) == 0 && atEOF {
		return KindEmpty, ""
	}
	if len(bytes.TrimLeft(head, " \t\r\n\v\f")) == 0 {
		// 64 KiB of whitespace and more to come: judge by what follows.
		return KindUnrecognized, "only whitespace in the first 64 KiB"
	}
	probe := head
	if len(probe) > 4096 {
		probe = probe[:4096]
	}
	if i := bytes.IndexByte(probe, 0); i >= 0 {
		return KindUnrecognized, "binary content (NUL byte at offset " + itoa(i) + ")"
	}
	if !validUTF8Prefix(probe, atEOF || len(head) <= 4096) {
		return KindUnrecognized, "not UTF-8 text"
	}
	body := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	body = bytes.TrimLeft(body, " \t\r\n\v\f")
	if body[0] == '{' || body[0] == '[' {
		return KindJSON, ""
	}
	first := firstLine(head)
	if cells, ok := csvCells(first); ok {
		if len(cells) == 2 && cells[0] == "timestamp" && cells[1] == "message" {
			return KindCWLCSV, ""
		}
		if hasCell(cells, "srcaddr") && (hasCell(cells, "eni-id") || hasCell(cells, "vswitch-id") || hasCell(cells, "__topic__")) {
			return KindAlibabaCSV, ""
		}
	}
	if looksAWSText(head) {
		return KindAWSText, ""
	}
	return KindUnrecognized, "no flow-log format matches the content"
}

func isPcapMagic(b []byte) bool {
	switch string(b) {
	case "\xa1\xb2\xc3\xd4", "\xd4\xc3\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x4d\x3c\xb2\xa1":
		return true
	}
	return false
}

// validUTF8Prefix is utf8.Valid, except that a multi-byte character cut by
// the end of the probe (when more input follows) is accepted.
func validUTF8Prefix(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	for cut := 1; cut <= 3 && cut < len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return !utf8.FullRune(b[len(b)-cut:])
		}
	}
	return false
}

func firstLine(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte("\r"))
}

func csvCells(line []byte) ([]string, bool) {
	if !bytes.ContainsRune(line, ',') {
		return nil, false
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	cells, err := r.Read()
	if err != nil {
		return nil, false
	}
	return cells, true
}

func hasCell(cells []string, want string) bool {
	for _, c := range cells {
		if c == want {
			return true
		}
	}
	return false
}

// looksAWSText: the first non-blank line is a header or a header look-alike,
// or one of the first 100 non-blank lines has exactly 14 tokens.
func looksAWSText(head []byte) bool {
	var buf [96][]byte
	seen := 0
	for len(head) > 0 && seen < 100 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		toks, n := lex.Fields(line, buf[:0:96])
		if n == 0 {
			continue
		}
		seen++
		if seen == 1 && aws.IsHeaderLike(toks, n) {
			return true
		}
		if n == 14 {
			return true
		}
	}
	return false
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	if i == 0 {
		return "0"
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
