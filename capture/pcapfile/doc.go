// Package pcapfile owns reading capture files: classic pcap (micro- or
// nanosecond timestamps, either byte order, and the modified "Kuznetzov"
// variant) and pcapng (several sections
// in either byte order, several interfaces with their own link types,
// timestamp resolutions and offsets; Enhanced, Simple and obsolete Packet
// Blocks), streamed from an io.Reader into capture.Frames, plus a small
// classic-pcap Writer. It leaves decoding the frames to capture/decode and
// live interfaces to capture/live.
//
// NewReader detects the format by magic number. Reader.Next returns
// io.EOF at a clean end; any other problem is an *Error naming the 1-based
// frame number being read, the byte offset of the record or block at fault
// and the reason, returned again by every later call (frames before it
// were delivered). Frame.Data points into the reader's buffer and is valid
// until the next call; a steady-state Next allocates nothing. A record or
// block claiming more than MaxFrame bytes is an error, not an allocation.
//
// Interface numbering: Frame.Iface is a global index over every Interface
// Description Block of the file, across sections in file order (the first
// IDB of the second section follows the last of the first), so it is
// unique within a file; Reader.Interfaces()[Frame.Iface] describes it.
// Classic pcap has one interface, 0.
//
// Link types are LINKTYPE_* values; DLT_RAW as written on some systems
// (12, 14) is mapped to capture.LinkRaw. Simple Packet Blocks carry no
// time: their Frames have NoTime set and Time 0. pcapng Custom Blocks
// (0x00000BAD, 0x40000BAD) are delivered as Frames of link type
// capture.LinkPcapngCustom, as TShark counts them as frames; other
// non-packet blocks (name resolution, statistics, decryption secrets,
// unknown types) are skipped.
package pcapfile
