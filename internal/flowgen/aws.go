package flowgen

import (
	"bufio"
	"io"
	"strconv"
)

// AWSV5Fields is a typical custom format with every v5 field (FORMATS.md 3.2).
var AWSV5Fields = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport",
	"dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "vpc-id",
	"subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id",
	"sublocation-type", "sublocation-id", "pkt-src-aws-service", "pkt-dst-aws-service",
	"flow-direction", "traffic-path"}

// AWSText writes n records in the given field order (nil: the default v2
// format without a header; otherwise a header line first).
func AWSText(w io.Writer, n int, fields []string, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := New(seed)
	if fields != nil {
		for i, f := range fields {
			if i > 0 {
				bw.WriteByte(' ')
			}
			bw.WriteString(f)
		}
		bw.WriteByte('\n')
	} else {
		fields = AWSDefaultFields
	}
	return writeAWSLines(bw, n, fields, g.Next)
}

// AWSDefaultFields is the default (version 2) format, which has no header:
// flowlog/aws.DefaultFields, which flowgen cannot import (aws tests import
// flowgen); a test there checks that the lists agree, and AWSV5Fields with
// aws.V5Fields.
var AWSDefaultFields = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log-status"}

// writeAWSLines writes n flows from next as lines of fields, then flushes.
func writeAWSLines(bw *bufio.Writer, n int, fields []string, next func() Flow) error {
	var buf []byte
	for i := 0; i < n; i++ {
		f := next()
		buf = buf[:0]
		for j, name := range fields {
			if j > 0 {
				buf = append(buf, ' ')
			}
			buf = AppendAWSField(buf, name, &f)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendAWSField appends the text of one AWS field for f ("-" when the
// generator has no value for it).
func AppendAWSField(b []byte, name string, f *Flow) []byte {
	switch name {
	case "version":
		return append(b, '5')
	case "account-id":
		return append(b, f.Account...)
	case "interface-id":
		return append(b, f.Iface...)
	case "srcaddr", "pkt-srcaddr":
		return f.Src.AppendTo(b)
	case "dstaddr", "pkt-dstaddr":
		return f.Dst.AppendTo(b)
	case "srcport":
		return strconv.AppendUint(b, uint64(f.SrcPort), 10)
	case "dstport":
		return strconv.AppendUint(b, uint64(f.DstPort), 10)
	case "protocol":
		return strconv.AppendUint(b, uint64(f.Proto), 10)
	case "packets":
		return strconv.AppendInt(b, f.Packets, 10)
	case "bytes":
		return strconv.AppendInt(b, f.Bytes, 10)
	case "start":
		return strconv.AppendInt(b, f.Start, 10)
	case "end":
		return strconv.AppendInt(b, f.End, 10)
	case "action":
		if f.Accept {
			return append(b, "ACCEPT"...)
		}
		return append(b, "REJECT"...)
	case "log-status":
		return append(b, "OK"...)
	case "vpc-id":
		return append(b, f.VPC...)
	case "subnet-id":
		return append(b, f.Subnet...)
	case "instance-id":
		return append(b, f.Instance...)
	case "tcp-flags":
		return strconv.AppendInt(b, int64(f.TCPFlags), 10)
	case "type":
		return append(b, "IPv4"...)
	case "region":
		return append(b, f.Region...)
	case "az-id":
		return append(b, f.AZ...)
	case "flow-direction":
		if f.Ingress {
			return append(b, "ingress"...)
		}
		return append(b, "egress"...)
	case "traffic-path":
		if f.Ingress {
			return append(b, '-')
		}
		return append(b, '1')
	}
	return append(b, '-')
}
