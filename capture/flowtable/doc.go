// Package flowtable owns turning decoded packets (capture.Packet) into
// unidirectional flow records (flowlog.Record) with active/idle timeouts,
// a bound on the flows held, and fragment matching. It leaves reading
// frames to capture/pcapfile and capture/live, decoding them to
// capture/decode, and what happens to the records to its caller.
//
// # Records
//
// One record per direction, keyed by the inner 5-tuple (for ICMP and
// ICMPv6 the type and code instead of the ports, FORMATS.md 1.3: sport and
// dport stay 0, icmp_type/icmp_code keys), the interface, and the
// outermost tunnel's identity (type, VNI or GRE key / ERSPAN session,
// outer source and destination), the AWS GWLB Geneve options, the
// outermost VLAN id and the ERSPAN III direction bit. So the same inner
// flow seen through two mirror sessions gives two records. bytes are the
// inner IP lengths (Packet.L3Len: IPv4 total length, IPv6 payload length +
// 40), packets the packets counted, tcp_flags the OR of the flags seen,
// start/end the Unix seconds (rounded down) of the earliest and latest
// packet (a frame without a timestamp, a pcapng Simple Packet Block,
// counts as time 0, as in the reference tables); Table.LastEmitted gives
// the same times in nanoseconds. Frames cut short
// of their inner packet count in truncated_packets. direction is "" unless
// ERSPAN III states it. Optional keys are appended in key order.
//
// # Timeouts and bound
//
// Timeouts are measured in packet time (the capture time of the packets;
// for live capture the caller passes the clock to Expire). A record spans
// at most Config.Active (default 60 s): the packet that would stretch it
// further starts a new record and the old one is emitted. A flow without a
// packet for Config.Idle (default 15 s) is emitted by Expire, which visits
// flows in order of their last packet and stops at the first one not due.
// That order is kept to a granularity of 1/16 of the shorter timeout (at
// most 268 ms): a flow moves to the end of the list only when its packets
// are that far apart, which spares a busy flow two cache misses per
// packet, so Expire may emit a flow up to one granularity late. Flush
// emits everything (end of file, shutdown) in exact order of last packet. The table holds at most
// Config.MaxFlows flows (default 262,144, about 60 MB): a new flow beyond
// that evicts the least recently seen one, which is emitted early and
// counted in Stats.Evicted, never dropped.
//
// # Fragments
//
// The corpus reference (corpus expected/README.md) counts a non-first
// fragment only in its address-pair row, never in a 5-tuple row, and the
// acceptance check compares 5-tuple packets and bytes with it. So packets
// and bytes count the 5-tuple's packets, including a first fragment
// (offset 0, it carries the ports), and a later fragment is matched to the
// flow of its first fragment by (src, dst, proto, fragment id, interface,
// tunnel) and counted in the record's frag_packets/frag_bytes keys.
// Later fragments whose first fragment was not seen (or came after them)
// go to a record with ports 0 and packets/bytes 0 that carries only
// frag_packets/frag_bytes. Nothing is lost: packets + frag_packets over all
// records equals the packets added.
//
// # Memory and concurrency
//
// Entries are fixed-size, pointer-free structs in one array, found through
// an open-addressing index of packed (hash tag, entry) words; the array
// and index grow by doubling up to MaxFlows and are then reused, so Add
// allocates nothing in steady state. A Table is not safe for concurrent
// use: run one per worker and route the packets of one flow to one worker
// (e.g. fanout by flow hash); there is no global lock.
package flowtable
