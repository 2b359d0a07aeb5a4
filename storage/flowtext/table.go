package flowtext

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flowsift/flowsift/flowlog"
)

// tableBatch is how many rows are buffered to size the columns; a table of
// more rows is printed in blocks of that size, each with its own widths.
const tableBatch = 1000

type table struct {
	w    io.Writer
	rows [][]string
	n    int
}

var tableHeader = []string{"START (UTC)", "DUR", "SRC", "SPORT", "DST", "DPORT", "PROTO", "PACKETS", "BYTES", "ACTION", "DIR", "IFACE", "SOURCE"}

func (t *table) Write(r *flowlog.Record) error {
	start := "-"
	if r.Start > 0 {
		start = time.Unix(r.Start, 0).UTC().Format("2006-01-02 15:04:05")
	}
	dur := "-"
	if r.End >= r.Start && r.Start > 0 {
		dur = strconv.FormatInt(r.End-r.Start, 10) + "s"
	}
	t.rows = append(t.rows, []string{
		start, dur, r.Src.String(), strconv.Itoa(int(r.SrcPort)), r.Dst.String(), strconv.Itoa(int(r.DstPort)),
		ProtoName(r.Proto), strconv.FormatInt(r.Packets, 10), strconv.FormatInt(r.Bytes, 10),
		dash(r.Action.String()), dash(r.Direction.String()), dash(r.Iface), r.Source.String(),
	})
	if len(t.rows) >= tableBatch {
		return t.flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (t *table) flush() error {
	if len(t.rows) == 0 {
		return nil
	}
	err := WriteTable(t.w, tableHeader, t.rows, []bool{false, true, false, true, false, true, false, true, true})
	t.rows = t.rows[:0]
	return err
}

func (t *table) Close() error { return t.flush() }

// WriteTable prints an aligned table; right[i] right-aligns column i.
func WriteTable(w io.Writer, header []string, rows [][]string, right []bool) error {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(width) && len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	var sb strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				sb.WriteString("  ")
			}
			pad := width[i] - len(c)
			if i < len(right) && right[i] {
				sb.WriteString(strings.Repeat(" ", pad))
				sb.WriteString(c)
			} else if i == len(cells)-1 {
				sb.WriteString(c)
			} else {
				sb.WriteString(c)
				sb.WriteString(strings.Repeat(" ", pad))
			}
		}
		sb.WriteByte('\n')
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 132: "sctp"}

// ProtoName is a short protocol name, or the number.
func ProtoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return fmt.Sprint(p)
}
