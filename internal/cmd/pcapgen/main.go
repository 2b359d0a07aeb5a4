// Command pcapgen writes a synthetic capture (internal/pcapgen) and,
// optionally, its ground truth as TSV: src dst proto sport dport packets
// bytes. It is the fast stand-in for the corpus's gen_mirror_traffic.py.
//
//	go run ./internal/cmd/pcapgen -o .bench/plain.pcap -n 2000000 -m 20000
//	go run ./internal/cmd/pcapgen -o .bench/vxlan.pcap -n 2000000 -m 20000 --vxlan 4242
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/flowsift/flowsift/internal/pcapgen"
)

func main() {
	out := flag.String("o", "", "output pcap file")
	n := flag.Int("n", 1_000_000, "packets")
	m := flag.Int("m", 10_000, "connections")
	seed := flag.Uint64("seed", 1, "random seed")
	vni := flag.Int("vxlan", -1, "wrap every frame in VXLAN with this VNI")
	v6 := flag.Float64("ipv6-share", 0.3, "share of IPv6 connections (negative: none)")
	pps := flag.Int("pps", 1_000_000, "timestamp spacing in packets per second")
	nano := flag.Bool("nanosecond", false, "nanosecond timestamps")
	hosts := flag.String("hosts", "", "A,B[,A6,B6]: only these addresses (live tests)")
	truth := flag.String("truth", "", "write the per-direction 5-tuple totals here (TSV)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "pcapgen: -o FILE is required")
		os.Exit(2)
	}
	cfg := pcapgen.Config{Seed: *seed, Packets: *n, Flows: *m, IPv6Share: *v6, PPS: *pps}
	if *vni >= 0 {
		cfg.VXLAN, cfg.VNI = true, uint32(*vni)
	}
	if *hosts != "" {
		var as []netip.Addr
		for _, s := range splitComma(*hosts) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pcapgen: --hosts:", err)
				os.Exit(2)
			}
			as = append(as, a)
		}
		if len(as) != 2 && len(as) != 4 {
			fmt.Fprintln(os.Stderr, "pcapgen: --hosts wants 2 or 4 addresses")
			os.Exit(2)
		}
		cfg.Hosts4 = [2]netip.Addr{as[0], as[1]}
		if len(as) == 4 {
			cfg.Hosts6 = [2]netip.Addr{as[2], as[3]}
		} else {
			cfg.IPv6Share = -1
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	t, err := pcapgen.Write(f, cfg, *nano)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	if *truth != "" {
		tf, err := os.Create(*truth)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pcapgen:", err)
			os.Exit(1)
		}
		w := bufio.NewWriter(tf)
		fmt.Fprintln(w, "src\tdst\tproto\tsport\tdport\tpackets\tbytes")
		for _, k := range t.Keys() {
			c := t[k]
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", k.Src, k.Dst, k.Proto, k.SrcPort, k.DstPort, c.Packets, c.Bytes)
		}
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, "pcapgen:", err)
			os.Exit(1)
		}
		tf.Close()
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
