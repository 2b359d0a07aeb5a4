package flowtext

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/flowlog"
)

// Writer receives records. Close flushes; it does not close the underlying
// io.Writer.
type Writer interface {
	Write(r *flowlog.Record) error
	Close() error
}

// New returns a writer for format "jsonl", "csv" or "table".
func New(format string, w io.Writer) (Writer, error) {
	switch format {
	case "jsonl", "json":
		return &jsonl{w: bufio.NewWriterSize(w, 256<<10)}, nil
	case "csv":
		return &csvw{w: bufio.NewWriterSize(w, 256<<10)}, nil
	case "table":
		return &table{w: w}, nil
	}
	return nil, fmt.Errorf("unknown record format %q (want jsonl, csv, table or parquet)", format)
}

type jsonl struct {
	w   *bufio.Writer
	buf []byte
}

func (j *jsonl) Write(r *flowlog.Record) error {
	j.buf = flowlog.AppendJSON(j.buf[:0], r)
	j.buf = append(j.buf, '\n')
	_, err := j.w.Write(j.buf)
	return err
}

func (j *jsonl) Close() error { return j.w.Flush() }

// FixedColumns are the columns of the fixed keys, named and ordered as in
// JSONL (FORMATS.md 1.1). Do not modify.
var FixedColumns = flowlog.FixedKeys[:]

// CSVColumns are the fixed columns, then one per optional key.
func CSVColumns() []string {
	cols := append([]string(nil), FixedColumns...)
	for _, k := range flowlog.AttrKeys() {
		cols = append(cols, k.Name())
	}
	return cols
}

type csvw struct {
	w      *bufio.Writer
	buf    []byte
	header bool
	cells  []string
}

func (c *csvw) Write(r *flowlog.Record) error {
	if !c.header {
		c.header = true
		c.buf = append(c.buf[:0], strings.Join(CSVColumns(), ",")...)
		c.buf = append(c.buf, '\n')
		if _, err := c.w.Write(c.buf); err != nil {
			return err
		}
	}
	b := c.buf[:0]
	b = strconv.AppendInt(b, r.Start, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.End, 10)
	b = append(b, ',')
	if r.Src.IsValid() {
		b = r.Src.AppendTo(b)
	}
	b = append(b, ',')
	if r.Dst.IsValid() {
		b = r.Dst.AppendTo(b)
	}
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Packets, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Bytes, 10)
	b = append(b, ',')
	b = append(b, r.Action.String()...)
	b = append(b, ',')
	b = append(b, r.Direction.String()...)
	b = append(b, ',')
	b = appendCSV(b, r.Iface)
	b = append(b, ',')
	b = appendCSV(b, r.VPC)
	b = append(b, ',')
	b = appendCSV(b, r.Subnet)
	b = append(b, ',')
	b = appendCSV(b, r.Account)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.TCPFlags), 10)
	b = append(b, ',')
	b = append(b, r.Source.String()...)
	ai := 0
	for _, k := range flowlog.AttrKeys() {
		b = append(b, ',')
		if ai < len(r.Attrs) && r.Attrs[ai].Key == k {
			a := &r.Attrs[ai]
			if k.IsInt() {
				b = strconv.AppendInt(b, a.Int, 10)
			} else {
				b = appendCSV(b, a.Str)
			}
			ai++
		}
	}
	b = append(b, '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

func (c *csvw) Close() error { return c.w.Flush() }

// appendCSV quotes a cell when RFC 4180 requires it.
func appendCSV(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") && (s == "" || s[0] != ' ') {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
