// Package live owns flowsift's live frame sources: an interface read through
// AF_PACKET TPACKET_V3 rings (BPF filter, PACKET_FANOUT_HASH over N workers,
// kernel drop counters) and a traffic-mirror target that receives VXLAN
// (UDP 4789) or Geneve (UDP 6081) sessions on plain UDP sockets (recvmmsg
// batches, one SO_REUSEPORT socket per worker), and the Engine that runs
// each source on its own worker. It leaves decoding frames to
// capture/decode and assembling flows to capture/flowtable: a source only
// fills capture.Frame values, and the Engine gives every worker its own
// decoder and flow table (no lock shared between workers) and ships the
// records in batches.
//
// Each worker owns one Source and calls Read in a loop; a Source is not safe
// for concurrent use, and its Frame.Data is valid until the next Read. Read
// returns ErrTimeout when nothing arrived within Options.Poll, so a worker
// can expire idle flows and notice that it was asked to stop.
//
// AF_PACKET needs cgo (gopacket/afpacket uses the kernel headers) and
// libpcap to compile filter expressions (pcap.CompileBPFFilter, the only
// complete compiler of the tcpdump filter language); builds without cgo
// keep the mirror listener and report that interfaces are unavailable.
package live
