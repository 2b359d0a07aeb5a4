// Package capture is flowsift's second source of flow records: packets from
// pcap/pcapng files, a live interface or a traffic-mirror target (VXLAN,
// Geneve, GRE/ERSPAN) decoded and assembled into the same unidirectional
// records the flow-log readers produce (FORMATS.md section 8). It leaves
// judging records to analyze and writing them to storage.
//
// The root package holds the types the stages share (Frame, Packet, Tunnel)
// and Pipeline, which joins a frame source, a decoder and a flow table into
// a flowlog.Reader. The stages live in sub-packages that import this one:
// capture/pcapfile reads capture files, capture/live reads interfaces and
// mirror sessions, capture/decode turns a Frame into a Packet and
// capture/flowtable turns Packets into records. Pipeline therefore takes
// them as interfaces; cmd/flowsift (wiring_capture.go) puts them together.
// Between decoder and flow table sits Ahead, a queue of a few decoded
// packets that lets the table prefetch each packet's flow before adding
// it (Prefetcher): on a table larger than the CPU caches that overlap is
// what makes line rate.
package capture
