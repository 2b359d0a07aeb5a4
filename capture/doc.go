// Package capture is flowsift's second source of flow records: packets from
// pcap/pcapng files, a live interface or a traffic-mirror target (VXLAN,
// Geneve, GRE/ERSPAN) decoded and assembled into the same unidirectional
// records the flow-log readers produce (FORMATS.md section 8). It leaves
// judging records to analyze and writing them to storage.
//
// Status: not built yet (tracked as its own issue); flowlog/input detects
// capture files and reports them as unsupported until this package provides
// the reader that cmd/flowsift wires in through input.Options.Capture.
package capture
