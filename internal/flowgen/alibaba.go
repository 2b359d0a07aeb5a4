package flowgen

import (
	"bufio"
	"io"
	"strconv"
)

// AlibabaFields is the column order of the generated Alibaba SLS exports:
// the SLS metadata keys, then the documented flow-log fields (FORMATS.md 5.1).
var AlibabaFields = []string{"__topic__", "__source__", "__time__", "version", "vswitch-id", "vm-id",
	"vpc-id", "account-id", "eni-id", "srcaddr", "srcport", "dstaddr", "dstport", "protocol",
	"direction", "packets", "bytes", "start", "end", "log-status", "action", "tcp-flags",
	"traffic_path", "region", "type"}

// AlibabaJSON writes n flow-log rows as SLS JSON lines (every value a JSON
// string, as SLS stores them).
func AlibabaJSON(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := New(seed)
	var buf []byte
	for i := 0; i < n; i++ {
		f := g.Next()
		buf = append(buf[:0], '{')
		for j, name := range AlibabaFields {
			if j > 0 {
				buf = append(buf, ", "...)
			}
			buf = append(buf, '"')
			buf = append(buf, name...)
			buf = append(buf, `": "`...)
			buf = AppendAlibabaField(buf, name, &f)
			buf = append(buf, '"')
		}
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AlibabaCSV writes n flow-log rows as an SLS CSV export: a header row, then
// every value double-quoted.
func AlibabaCSV(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := New(seed)
	var buf []byte
	for j, name := range AlibabaFields {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, '"')
	}
	buf = append(buf, '\n')
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		f := g.Next()
		buf = buf[:0]
		for j, name := range AlibabaFields {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = AppendAlibabaField(buf, name, &f) // no generated value holds a '"'
			buf = append(buf, '"')
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendAlibabaField appends the text of one Alibaba column for f. Ids are
// the generator's AWS-style ids re-prefixed the way Alibaba spells them.
func AppendAlibabaField(b []byte, name string, f *Flow) []byte {
	switch name {
	case "__topic__":
		return append(b, "flow_log"...)
	case "__source__":
		return append(b, "log_service"...)
	case "__time__":
		return strconv.AppendInt(b, f.End+60, 10)
	case "version":
		return append(b, '1')
	case "vswitch-id":
		return append(append(b, "vsw-bp1"...), tail(f.Subnet)...)
	case "vm-id":
		return append(append(b, "i-bp1"...), tail(f.Instance)...)
	case "vpc-id":
		return append(append(b, "vpc-bp1"...), tail(f.VPC)...)
	case "account-id":
		return append(append(b, "1210"...), f.Account...)
	case "eni-id":
		return append(append(b, "eni-bp1"...), tail(f.Iface)...)
	case "direction":
		if f.Ingress {
			return append(b, "in"...)
		}
		return append(b, "out"...)
	case "traffic_path":
		if f.Ingress {
			return append(b, '-')
		}
		return append(b, '1')
	case "region":
		return append(b, "cn-hangzhou"...)
	case "type":
		return append(b, "IPv4"...)
	}
	return AppendAWSField(b, name, f) // addresses, ports, counters, times, action, log-status, tcp-flags
}

// tail drops an AWS id's prefix ("eni-0", "subnet-0", "i-0", "vpc-0").
func tail(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			if i+2 <= len(id) {
				return id[i+2:]
			}
			return id[i+1:]
		}
	}
	return id
}
