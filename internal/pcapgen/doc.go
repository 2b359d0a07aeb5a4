// Package pcapgen owns flowsift's synthetic capture traffic: deterministic
// TCP/UDP/ICMP flows over IPv4 and IPv6, plain Ethernet or wrapped in VXLAN
// like a traffic-mirror session, with the exact per-direction 5-tuple
// totals (packets, L3 bytes) as ground truth. It leaves writing files to
// capture/pcapfile and decoding them to capture/decode.
//
// It plays the role of the corpus's tools/gen_mirror_traffic.py (same mix:
// 60% TCP with a handshake then data both ways, 30% UDP, 10% ICMP echo,
// payloads 0 to 1400 bytes, valid checksums) at Go speed, for the capture
// benchmarks and the live tests (which confine every flow to the two test
// hosts' addresses).
package pcapgen
