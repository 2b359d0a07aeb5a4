package flowgen

import (
	"bufio"
	"io"
	"strconv"
	"time"
)

// GCPFlows writes n VPC Flow Logs LogEntries as NDJSON (one entry per
// line, the Cloud Storage sink shape of FORMATS.md 6.1), in the field
// layout of the Elastic Beats fixtures: int64 counters as strings,
// nanosecond RFC 3339 times, the reporter side's VPC details. Every
// eighth entry is a firewall log, the rest flow logs when firewall is
// false; all entries are firewall logs when it is true.
func GCPFlows(w io.Writer, n int, firewall bool, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := New(seed)
	var b []byte
	for i := 0; i < n; i++ {
		f := g.Next()
		b = b[:0]
		if firewall {
			b = appendGCPFirewall(b, &f)
		} else {
			b = appendGCPFlow(b, &f)
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendRFC3339(b []byte, sec int64, nsec int) []byte {
	return time.Unix(sec, int64(nsec)).UTC().AppendFormat(b, time.RFC3339Nano)
}

func appendGCPConn(b []byte, f *Flow) []byte {
	b = append(b, `"connection":{"dest_ip":"`...)
	b = f.Dst.AppendTo(b)
	b = append(b, '"')
	if f.Proto != 1 {
		b = append(b, `,"dest_port":`...)
		b = strconv.AppendUint(b, uint64(f.DstPort), 10)
	}
	b = append(b, `,"protocol":`...)
	b = strconv.AppendUint(b, uint64(f.Proto), 10)
	b = append(b, `,"src_ip":"`...)
	b = f.Src.AppendTo(b)
	b = append(b, '"')
	if f.Proto != 1 {
		b = append(b, `,"src_port":`...)
		b = strconv.AppendUint(b, uint64(f.SrcPort), 10)
	}
	return append(b, '}')
}

func appendGCPInstance(b []byte, key string, f *Flow) []byte {
	b = append(b, `"`+key+`":{"project_id":"my-sample-project","region":"us-east1","vm_name":"vm-`...)
	b = append(b, f.Instance[2:10]...)
	return append(b, `","zone":"us-east1-b"}`...)
}

func appendGCPVPC(b []byte, key string, f *Flow) []byte {
	b = append(b, `"`+key+`":{"project_id":"my-sample-project","subnetwork_name":"`...)
	b = append(b, f.Subnet...)
	return append(b, `","vpc_name":"default"}`...)
}

func appendGCPFlow(b []byte, f *Flow) []byte {
	b = append(b, `{"insertId":"`...)
	b = strconv.AppendInt(b, f.Start*7919+int64(f.SrcPort), 36)
	b = append(b, `","jsonPayload":{"bytes_sent":"`...)
	b = strconv.AppendInt(b, f.Bytes, 10)
	b = append(b, `",`...)
	b = appendGCPConn(b, f)
	if f.Ingress {
		b = append(b, ',')
		b = appendGCPInstance(b, "dest_instance", f)
		b = append(b, ',')
		b = appendGCPVPC(b, "dest_vpc", f)
	} else {
		b = append(b, `,"dest_location":{"asn":15169,"continent":"America","country":"usa"}`...)
	}
	b = append(b, `,"end_time":"`...)
	b = appendRFC3339(b, f.End, int(f.Bytes%1000)*1000003)
	b = append(b, `","packets_sent":"`...)
	b = strconv.AppendInt(b, f.Packets, 10)
	if f.Ingress {
		b = append(b, `","reporter":"DEST","rtt_msec":"`...)
	} else {
		b = append(b, `","reporter":"SRC","rtt_msec":"`...)
	}
	b = strconv.AppendInt(b, 1+f.Packets%97, 10)
	b = append(b, `",`...)
	if f.Ingress {
		b = append(b, `"src_location":{"asn":15169,"continent":"America","country":"usa"}`...)
	} else {
		b = appendGCPInstance(b, "src_instance", f)
		b = append(b, ',')
		b = appendGCPVPC(b, "src_vpc", f)
	}
	b = append(b, `,"start_time":"`...)
	b = appendRFC3339(b, f.Start, int(f.Packets%1000)*999983)
	b = append(b, `"},"logName":"projects/my-sample-project/logs/compute.googleapis.com%2Fvpc_flows","receiveTimestamp":"`...)
	b = appendRFC3339(b, f.End+20, 845445834)
	b = append(b, `","resource":{"labels":{"location":"us-east1-b","project_id":"my-sample-project","subnetwork_id":"758019854043528829","subnetwork_name":"`...)
	b = append(b, f.Subnet...)
	b = append(b, `"},"type":"gce_subnetwork"},"timestamp":"`...)
	b = appendRFC3339(b, f.End+20, 845445834)
	return append(b, `"}`...)
}

func appendGCPFirewall(b []byte, f *Flow) []byte {
	b = append(b, `{"insertId":"`...)
	b = strconv.AppendInt(b, f.Start*7919+int64(f.SrcPort), 36)
	b = append(b, `","jsonPayload":{`...)
	b = appendGCPConn(b, f)
	if f.Accept {
		b = append(b, `,"disposition":"ALLOWED",`...)
	} else {
		b = append(b, `,"disposition":"DENIED",`...)
	}
	b = appendGCPInstance(b, "instance", f)
	b = append(b, `,"rule_details":{"action":"`...)
	if f.Accept {
		b = append(b, `ALLOW","direction":"`...)
	} else {
		b = append(b, `DENY","direction":"`...)
	}
	if f.Ingress {
		b = append(b, `INGRESS`...)
	} else {
		b = append(b, `EGRESS`...)
	}
	b = append(b, `","priority":1000,"reference":"network:default/firewall:rule-`...)
	b = strconv.AppendUint(b, uint64(f.DstPort%7), 10)
	b = append(b, `"},`...)
	b = appendGCPVPC(b, "vpc", f)
	b = append(b, `},"logName":"projects/my-sample-project/logs/compute.googleapis.com%2Ffirewall","timestamp":"`...)
	b = appendRFC3339(b, f.End, 191988835)
	return append(b, `"}`...)
}
