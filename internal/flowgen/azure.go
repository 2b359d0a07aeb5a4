package flowgen

import (
	"bufio"
	"io"
	"strconv"
)

// AzureNSG writes n NSG version 2 flow tuples as one PT1H.json document
// ({"records":[...]}, compact, one record per 64 tuples: FORMATS.md 7.1).
func AzureNSG(w io.Writer, n int, seed uint64) error { return azureDoc(w, n, seed, false) }

// AzureVNet writes n VNet flow-log tuples (millisecond times, numeric
// protocols, encryption field) as one PT1H.json document.
func AzureVNet(w io.Writer, n int, seed uint64) error { return azureDoc(w, n, seed, true) }

const azureTuplesPerRecord = 64

func azureDoc(w io.Writer, n int, seed uint64, vnet bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := New(seed)
	bw.WriteString(`{"records":[`)
	var b []byte
	for i := 0; i < n; i += azureTuplesPerRecord {
		m := min(azureTuplesPerRecord, n-i)
		f := g.Next()
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"time":"`...)
		b = appendRFC3339(b, f.Start, 389926200)
		if vnet {
			b = append(b, `","flowLogVersion":4,"flowLogGUID":"abcdef01-2345-6789-0abc-def012345678","macAddress":"`...)
			b = appendMAC(b, f.Iface)
			b = append(b, `","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2/FLOWLOGS/VNETFLOWLOG","targetResourceID":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/`...)
			b = append(b, f.Subnet...)
			b = append(b, `","operationName":"FlowLogFlowEvent","flowRecords":{"flows":[{"aclID":"00000000-1234-abcd-ef00-c1c2c3c4c5c6","flowGroups":[{"rule":"DefaultRule_AllowInternetOutBound","flowTuples":[`...)
		} else {
			b = append(b, `","systemId":"a0fca5ce-022c-47b1-9735-89943b42f2fa","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-`...)
			b = append(b, f.Subnet[7:]...)
			b = append(b, `","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[{"rule":"DefaultRule_AllowInternetOutBound","flows":[{"mac":"`...)
			b = appendMAC(b, f.Iface)
			b = append(b, `","flowTuples":[`...)
		}
		for j := 0; j < m; j++ {
			if j > 0 {
				b = append(b, ',')
				f = g.Next()
			}
			b = append(b, '"')
			b = appendAzureTuple(b, &f, vnet, j)
			b = append(b, '"')
		}
		b = append(b, `]}]}]}}`...) // same nesting depth for NSG and VNet
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

func appendMAC(b []byte, iface string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < 12; i++ {
		c := iface[len(iface)-12+i]
		if c >= 'a' {
			c = hex[10+c-'a']
		}
		b = append(b, c)
	}
	return b
}

// appendAzureTuple writes one tuple: B (begin, no counts), C/E with counts
// both ways, and D (denied) tuples in turn.
func appendAzureTuple(b []byte, f *Flow, vnet bool, j int) []byte {
	t := f.Start
	if vnet {
		t = t*1000 + int64(j%1000)
	}
	b = strconv.AppendInt(b, t, 10)
	b = append(b, ',')
	b = f.Src.AppendTo(b)
	b = append(b, ',')
	b = f.Dst.AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(f.SrcPort), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(f.DstPort), 10)
	b = append(b, ',')
	switch {
	case vnet:
		b = strconv.AppendUint(b, uint64(f.Proto), 10)
	case f.Proto == 17:
		b = append(b, 'U')
	default:
		b = append(b, 'T')
	}
	if f.Ingress {
		b = append(b, ",I,"...)
	} else {
		b = append(b, ",O,"...)
	}
	state := "CECEB"[j%5]
	if !f.Accept {
		state = 'D'
	}
	switch {
	case vnet:
		b = append(b, state)
		b = append(b, ",NX,"...)
	case state == 'D':
		b = append(b, "D,B,"...)
	default:
		b = append(b, 'A', ',', state, ',')
	}
	if state == 'B' || state == 'D' {
		if vnet {
			return append(b, "0,0,0,0"...)
		}
		return append(b, ",,,"...)
	}
	b = strconv.AppendInt(b, f.Packets, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, f.Bytes, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, f.Packets/2+1, 10)
	b = append(b, ',')
	return strconv.AppendInt(b, f.Bytes/2+40, 10)
}
