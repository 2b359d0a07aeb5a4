package alibaba

import (
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

// baseRow is the REJECT row of FORMATS.md 9.5 as key/raw-JSON pairs.
var baseRow = [][2]string{
	{"__topic__", `"flow_log"`}, {"__source__", `"log_service"`}, {"__time__", `"1721010660"`},
	{"account-id", `"1210123456******"`}, {"action", `"REJECT"`}, {"bytes", `"4208"`},
	{"direction", `"in"`}, {"dstaddr", `"172.31.16.21"`}, {"dstport", `"80"`}, {"end", `"1721010600"`},
	{"eni-id", `"eni-bp1ftp5sm9oszt******"`}, {"log-status", `"OK"`}, {"packets", `"20"`},
	{"protocol", `"6"`}, {"srcaddr", `"172.31.16.139"`}, {"srcport", `"1332"`}, {"start", `"1721010000"`},
	{"tcp-flags", `"22"`}, {"traffic_path", `"-"`}, {"version", `"-"`}, {"vm-id", `"1"`},
	{"vpc-id", `"-"`}, {"vswitch-id", `"vpc-bp1qf0c43jb3maz******"`},
}

const baseJSONL = `{"start":1721010000,"end":1721010600,"src":"172.31.16.139","dst":"172.31.16.21","sport":1332,"dport":80,"proto":6,"packets":20,"bytes":4208,"action":"reject","direction":"ingress","iface":"eni-bp1ftp5sm9oszt******","vpc":"","subnet":"vpc-bp1qf0c43jb3maz******","account":"1210123456******","tcp_flags":22,"source":"alibaba-sls-json","instance_id":"1"}`

// row builds a JSON object from baseRow with changes: "key=RAW" sets (or
// adds) a key, "-key" removes it.
func row(changes ...string) string {
	kv := append([][2]string(nil), baseRow...)
	for _, c := range changes {
		if strings.HasPrefix(c, "-") {
			for i := range kv {
				if kv[i][0] == c[1:] {
					kv = append(kv[:i], kv[i+1:]...)
					break
				}
			}
			continue
		}
		k, v, _ := strings.Cut(c, "=")
		found := false
		for i := range kv {
			if kv[i][0] == k {
				kv[i][1], found = v, true
			}
		}
		if !found {
			kv = append(kv, [2]string{k, v})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range kv {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + p[0] + `":` + p[1])
	}
	b.WriteByte('}')
	return b.String()
}

type outcome struct {
	ok     bool
	jsonl  string
	probs  []flowlog.Problem
	tally  *flowlog.Tally
	record flowlog.Record
}

func decodeOne(t *testing.T, js string) outcome {
	t.Helper()
	v, err := fastjson.Parse(js)
	if err != nil {
		t.Fatalf("test row does not parse: %v\n%s", err, js)
	}
	var o outcome
	o.tally = &flowlog.Tally{Path: "p", OnProblem: func(p flowlog.Problem) { o.probs = append(o.probs, p) }}
	d := NewDecoder(o.tally, flowlog.SourceAlibabaJSON)
	o.ok = d.DecodeJSON(v, 7, &o.record)
	if o.ok {
		o.jsonl = string(flowlog.AppendJSON(nil, &o.record))
	}
	if o.tally.Records != 0 {
		t.Errorf("DecodeJSON incremented Records")
	}
	return o
}

func TestDecodeBase(t *testing.T) {
	o := decodeOne(t, row())
	if !o.ok || o.jsonl != baseJSONL || len(o.probs) != 0 {
		t.Fatalf("ok=%v %v\n got %s\nwant %s", o.ok, o.probs, o.jsonl, baseJSONL)
	}
}

// TestDecodeRejects: each defect is reported at the given position with its
// kind, once, and gives no record; the first defect in FORMATS.md 5.2 order
// wins when a row has several.
func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name    string
		changes []string
		kind    flowlog.Kind
		detail  string // substring of the detail
	}{
		{"srcaddr missing", []string{"-srcaddr"}, flowlog.KindMissingField, "srcaddr is missing"},
		{"srcaddr null", []string{"srcaddr=null"}, flowlog.KindMissingField, "srcaddr is missing"},
		{"srcaddr empty", []string{`srcaddr=""`}, flowlog.KindMissingField, "srcaddr is empty"},
		{"srcaddr dash", []string{`srcaddr="-"`}, flowlog.KindMissingField, `srcaddr is "-"`},
		{"dstaddr missing", []string{"-dstaddr"}, flowlog.KindMissingField, "dstaddr"},
		{"missing srcaddr before bad dstaddr", []string{"-srcaddr", `dstaddr="x"`}, flowlog.KindMissingField, "srcaddr"},
		{"missing dstaddr before bad srcaddr", []string{"-dstaddr", `srcaddr="x"`}, flowlog.KindMissingField, "dstaddr"},
		{"bad srcaddr", []string{`srcaddr="172.16.XX.XX"`}, flowlog.KindBadIP, "172.16.XX.XX"},
		{"bad dstaddr", []string{`dstaddr="10.0.300.1"`}, flowlog.KindBadIP, "dstaddr"},
		{"zone", []string{`dstaddr="fe80::1%eth0"`}, flowlog.KindBadIP, "dstaddr"},
		{"leading zero octet", []string{`srcaddr="010.1.1.1"`}, flowlog.KindBadIP, "srcaddr"},
		{"address as number", []string{`srcaddr=10`}, flowlog.KindBadIP, "srcaddr"},
		{"address as object", []string{`srcaddr={"a":1}`}, flowlog.KindBadIP, "JSON object"},
		{"bad ip before bad port", []string{`srcaddr="x"`, `srcport="http"`}, flowlog.KindBadIP, "srcaddr"},
		{"port not a number", []string{`srcport="80a"`}, flowlog.KindBadNumber, "srcport"},
		{"port with sign", []string{`dstport="+80"`}, flowlog.KindBadNumber, "dstport"},
		{"port negative JSON number", []string{`dstport=-5`}, flowlog.KindBadNumber, "dstport"},
		{"port fractional JSON number", []string{`dstport=80.0`}, flowlog.KindBadNumber, "dstport"},
		{"port exponent JSON number", []string{`dstport=8e1`}, flowlog.KindBadNumber, "dstport"},
		{"port space", []string{`dstport=" 80"`}, flowlog.KindBadNumber, "dstport"},
		{"port too large", []string{`srcport="65536"`}, flowlog.KindBadPort, "65536"},
		{"port array", []string{`srcport=[80]`}, flowlog.KindBadNumber, "JSON array"},
		{"port boolean", []string{`srcport=true`}, flowlog.KindBadNumber, "JSON boolean"},
		{"protocol too large", []string{`protocol="300"`}, flowlog.KindBadProtocol, "300"},
		{"protocol name", []string{`protocol="tcp"`}, flowlog.KindBadNumber, "protocol"},
		{"port before protocol", []string{`protocol="300"`, `dstport="http"`}, flowlog.KindBadNumber, "dstport"},
		{"packets hex", []string{`packets="0x50"`}, flowlog.KindBadNumber, "packets"},
		{"bytes overflow", []string{`bytes="9223372036854775808"`}, flowlog.KindBadNumber, "bytes"},
		{"start fraction", []string{`start="1.5"`}, flowlog.KindBadNumber, "start"},
		{"end negative", []string{`end="-1"`}, flowlog.KindBadNumber, "end"},
		{"version overflow int32", []string{`version="2147483648"`}, flowlog.KindBadNumber, "version"},
		{"tcp-flags word", []string{`tcp-flags="SYN"`}, flowlog.KindBadNumber, "tcp-flags"},
		{"traffic_path overflow", []string{`traffic_path="99999999999"`}, flowlog.KindBadNumber, "traffic_path"},
		{"traffic_path negative number", []string{`traffic_path=-1`}, flowlog.KindBadNumber, "traffic_path"},
		{"traffic_path object", []string{`traffic_path={}`}, flowlog.KindBadValue, "traffic_path"},
		{"action lower case", []string{`action="accept"`}, flowlog.KindBadValue, "action"},
		{"action unknown", []string{`action="DROP"`}, flowlog.KindBadValue, "DROP"},
		{"direction unknown", []string{`direction="sideways"`}, flowlog.KindBadValue, "sideways"},
		{"direction aws spelling", []string{`direction="ingress"`}, flowlog.KindBadValue, "direction"},
		{"action before direction", []string{`direction="x"`, `action="y"`}, flowlog.KindBadValue, "action"},
		{"number before action", []string{`action="y"`, `packets="z"`}, flowlog.KindBadNumber, "packets"},
		{"log-status unknown", []string{`log-status="FINE"`}, flowlog.KindBadValue, "log-status"},
		{"log-status number", []string{`log-status=1`}, flowlog.KindBadValue, "log-status"},
		{"eni-id object", []string{`eni-id={"x":1}`}, flowlog.KindBadValue, "eni-id"},
		{"vm-id array", []string{`vm-id=[]`}, flowlog.KindBadValue, "vm-id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := decodeOne(t, row(c.changes...))
			if o.ok {
				t.Fatalf("gave a record: %s", o.jsonl)
			}
			if len(o.probs) != 1 {
				t.Fatalf("reports %v, want one", o.probs)
			}
			p := o.probs[0]
			if p.Pos != 7 || p.Kind != c.kind || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("got %s, want 7: %s containing %q", p, c.kind, c.detail)
			}
			if o.tally.Malformed[c.kind] != 1 {
				t.Errorf("Malformed[%s] = %d", c.kind, o.tally.Malformed[c.kind])
			}
		})
	}
}

// TestDecodeAccepts: value shapes that give a record, with the exact JSONL.
func TestDecodeAccepts(t *testing.T) {
	base := strings.TrimSuffix(baseJSONL, "}")
	cases := []struct {
		name    string
		changes []string
		want    string // baseJSONL with these replacements (old=>new), or a full line
	}{
		{"JSON numbers", []string{"srcport=1332", "dstport=80", "protocol=6", "packets=20", "bytes=4208",
			"start=1721010000", "end=1721010600", "tcp-flags=22", "__time__=1721010660"}, baseJSONL},
		{"leading zeros", []string{`dstport="080"`, `protocol="006"`}, baseJSONL},
		{"null is absent", []string{"tcp-flags=null", "vpc-id=null", "vm-id=null"},
			strings.Replace(strings.Replace(baseJSONL, `"tcp_flags":22`, `"tcp_flags":0`, 1), `,"instance_id":"1"`, "", 1)},
		{"dash and empty are absent", []string{`packets="-"`, `bytes=""`, `action="-"`, `direction="-"`, `log-status="-"`, `account-id="-"`, `eni-id=""`},
			strings.NewReplacer(`"packets":20`, `"packets":0`, `"bytes":4208`, `"bytes":0`, `"action":"reject"`, `"action":""`,
				`"direction":"ingress"`, `"direction":""`, `"iface":"eni-bp1ftp5sm9oszt******"`, `"iface":""`,
				`"account":"1210123456******"`, `"account":""`).Replace(baseJSONL)},
		{"missing optional keys", []string{"-packets", "-log-status", "-action", "-version", "-vm-id"},
			strings.NewReplacer(`"packets":20`, `"packets":0`, `"action":"reject"`, `"action":""`, `,"instance_id":"1"`, "").Replace(baseJSONL)},
		{"out and accept", []string{`direction="out"`, `action="ACCEPT"`},
			strings.NewReplacer(`"direction":"ingress"`, `"direction":"egress"`, `"action":"reject"`, `"action":"accept"`).Replace(baseJSONL)},
		{"IPv6 canonical", []string{`srcaddr="2001:DB8:1234:A100:0:0:0:F105"`, `dstaddr="::ffff:10.0.0.1"`},
			strings.NewReplacer(`"src":"172.31.16.139"`, `"src":"2001:db8:1234:a100::f105"`, `"dst":"172.31.16.21"`, `"dst":"::ffff:10.0.0.1"`).Replace(baseJSONL)},
		{"optional keys in order", []string{`version="1"`, `traffic_path="13"`, `region="cn-hangzhou"`, `type="IPv4"`,
			`srctype="private"`, `dsttype="public"`, `vpc-id="vpc-bp1x"`, `vm-id="i-bp1x"`},
			strings.Replace(strings.TrimSuffix(baseJSONL, `,"instance_id":"1"}`), `"vpc":""`, `"vpc":"vpc-bp1x"`, 1) +
				`,"dst_type":"public","instance_id":"i-bp1x","region":"cn-hangzhou","src_type":"private","traffic_path":13,"type":"IPv4","version":1}`},
		{"traffic_path word", []string{`traffic_path="ipv4Gateway"`}, base + `,"traffic_path_name":"ipv4Gateway"}`},
		{"traffic_path JSON number", []string{`traffic_path=7`}, base + `,"traffic_path":7}`},
		{"traffic_path zero", []string{`traffic_path="0"`}, base + `,"traffic_path":0}`},
		{"unknown keys ignored", []string{`__tag__:__hostname__="h"`, `__pack_meta__="1|x"`, `traffic-path="5"`, `extra={"a":[1,2]}`}, baseJSONL},
		{"repeated key: first wins", []string{`srcport="1332","srcport":"x"`}, baseJSONL},
		{"escaped strings", []string{`eni-id="eni-\u0061b"`}, strings.Replace(baseJSONL, `"iface":"eni-bp1ftp5sm9oszt******"`, `"iface":"eni-ab"`, 1)},
		{"max values", []string{`packets="9223372036854775807"`, `tcp-flags="2147483647"`, `srcport="65535"`, `protocol="255"`},
			strings.NewReplacer(`"packets":20`, `"packets":9223372036854775807`, `"tcp_flags":22`, `"tcp_flags":2147483647`,
				`"sport":1332`, `"sport":65535`, `"proto":6`, `"proto":255`).Replace(baseJSONL)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := decodeOne(t, row(c.changes...))
			if !o.ok || len(o.probs) != 0 {
				t.Fatalf("no record: %v", o.probs)
			}
			if o.jsonl != c.want {
				t.Errorf("\n got %s\nwant %s", o.jsonl, c.want)
			}
		})
	}
}

func TestDecodeNoDataSkipData(t *testing.T) {
	// NODATA / SKIPDATA rows are counted and nothing else is validated.
	for _, c := range []struct {
		status         string
		nodata, skip   int64
		extraBadFields []string
	}{
		{"NODATA", 1, 0, []string{"-srcaddr", `dstaddr="-"`, `srcport="x"`, `action="?"`}},
		{"SKIPDATA", 0, 1, []string{`protocol="999"`, `direction={}`}},
	} {
		o := decodeOne(t, row(append([]string{`log-status="` + c.status + `"`}, c.extraBadFields...)...))
		if o.ok || len(o.probs) != 0 || o.tally.NoData != c.nodata || o.tally.SkipData != c.skip {
			t.Errorf("%s: ok=%v probs=%v nodata=%d skip=%d", c.status, o.ok, o.probs, o.tally.NoData, o.tally.SkipData)
		}
	}
}

func TestDecodeNotAnObject(t *testing.T) {
	for _, js := range []string{`[1,2]`, `"x"`, `42`, `null`} {
		o := decodeOne(t, js)
		if o.ok || len(o.probs) != 1 || o.probs[0].Kind != flowlog.KindBadJSON {
			t.Errorf("%s: ok=%v probs=%v", js, o.ok, o.probs)
		}
	}
}

// TestDecoderReuse: a decoder keeps no value of one row in the next (the
// values array is cleared, the record reset).
func TestDecoderReuse(t *testing.T) {
	tally := &flowlog.Tally{}
	d := NewDecoder(tally, flowlog.SourceAlibabaJSON)
	var p fastjson.Parser
	var rec flowlog.Record
	v, _ := p.Parse(row(`region="r1"`, `version=1`, `traffic_path="7"`))
	if !d.DecodeJSON(v, 1, &rec) || len(rec.Attrs) != 4 {
		t.Fatalf("first row: %v", rec.Attrs)
	}
	v, _ = p.Parse(row("-vm-id"))
	if !d.DecodeJSON(v, 2, &rec) {
		t.Fatal("second row")
	}
	if got := string(flowlog.AppendJSON(nil, &rec)); got != strings.Replace(baseJSONL, `,"instance_id":"1"`, "", 1) {
		t.Errorf("second row carries values of the first: %s", got)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	tally := &flowlog.Tally{}
	d := NewDecoder(tally, flowlog.SourceAlibabaJSON)
	var p fastjson.Parser
	var rec flowlog.Record
	lines := [][]byte{
		[]byte(row()),
		[]byte(row(`srcport=1332`, `dstport=443`, `version=1`, `traffic_path="ipv4Gateway"`, `region="cn-hangzhou"`)),
	}
	for _, l := range lines { // warm the interner and buffers
		v, _ := p.ParseBytes(l)
		d.DecodeJSON(v, 1, &rec)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		v, err := p.ParseBytes(lines[i%2])
		i++
		if err != nil || !d.DecodeJSON(v, 1, &rec) {
			t.Fatal("decode failed")
		}
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per row", allocs)
	}
}

func TestLookupCoversEveryField(t *testing.T) {
	for f := field(0); f < numFields; f++ {
		if got := lookup([]byte(fieldNames[f])); got != f {
			t.Errorf("lookup(%q) = %d, want %d", fieldNames[f], got, f)
		}
	}
	if lookup([]byte("__topic__")) != noField || lookup(bytes.ToUpper([]byte("srcaddr"))) != noField {
		t.Error("metadata or differently cased keys must be ignored")
	}
}
