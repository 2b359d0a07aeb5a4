package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/capture/live"
	"github.com/flowsift/flowsift/capture/pcapfile"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/clickhouse"
	"github.com/flowsift/flowsift/storage/flowtext"
)

func init() {
	registered = append(registered, command{"capture", "capture live traffic or a mirror session into flow records", runCapture})
}

const captureHelp = `Usage: flowsift capture (-i IFACE | --listen vxlan://ADDR:PORT | --listen geneve://ADDR:PORT | -r FILE)
                        [--policy FILE...] [--format FORMAT] [-o FILE] [FLAGS]

Turn packets into flow records (one per 5-tuple and direction, FORMATS.md
section 8) as they arrive, until interrupted (SIGINT/SIGTERM); then every
flow still open is flushed and the counters are printed.

Sources:
  -i IFACE        a live interface through AF_PACKET (TPACKET_V3 ring, needs
                  root or CAP_NET_RAW); --filter takes a tcpdump expression;
                  --workers N spreads flows over N sockets (PACKET_FANOUT_HASH)
  --listen URL    be the target of a cloud traffic-mirror session: a UDP
                  listener for VXLAN (vxlan://ADDR:PORT, default port 4789:
                  AWS Traffic Mirroring, Alibaba Cloud, Azure vTAP) or Geneve
                  (geneve://ADDR:PORT, default 6081: AWS Gateway Load Balancer,
                  GCP out-of-band mirroring); no capture library, no root for
                  ports >= 1024. The outer sender is tunnel_src, the local
                  address tunnel_dst, the VNI tunnel_vni. --workers N opens N
                  SO_REUSEPORT sockets.
  -r FILE         a pcap/pcapng file through the same engine (benchmarks,
                  replaying a saved session)

Each worker has its own decoder and flow table (no shared lock); a flow is
emitted when idle for --idle-timeout, when its record spans
--active-timeout (the next record continues it), when the table is full
(--max-flows over all workers; the least recently seen flow goes first) and
at the end. Idle expiry and "least recently seen" are kept to 1/16 of the
shorter timeout (at most 268 ms): a record may come out that much late;
its contents are exact.

With --policy, every record is judged as it is emitted, as flowsift analyze
--per-flow does (verdict, finding, rules, reply), except that the reply side
is decided from TCP flags and service ports only: the reverse record may not
have been emitted yet.

Counters (stderr, at the end and every --stats-interval with -v): frames
read, decoded, undecodable by reason (not-ip, truncated, bad-header,
unsupported, too-deep), dropped by the kernel (TPACKET statistics; for
listeners, datagrams dropped on a full socket buffer), flows emitted and how
(idle, active, evicted, flushed).

Examples:
  # a live interface, web traffic only, as JSON lines
  sudo flowsift capture -i eth0 --filter 'tcp port 443' > flows.jsonl

  # the target of an AWS Traffic Mirror session (NLB or ENI target)
  flowsift capture --listen vxlan://0.0.0.0:4789 --workers 2 -v -o flows.jsonl

  # judge mirrored traffic against the security groups as it arrives
  flowsift capture --listen vxlan://:4789 --policy sg.json,eni.json --format csv

  # and store records with verdicts in ClickHouse
  flowsift capture -i eth0 --policy sg.json --store clickhouse://default@localhost:9000/flowsift

Flags:
`

func runCapture(e *env, args []string) int {
	fs := pflag.NewFlagSet("capture", pflag.ContinueOnError)
	iface := fs.StringP("interface", "i", "", "capture on this interface (\"any\": all)")
	listen := fs.String("listen", "", "receive a mirror session: vxlan://ADDR:PORT or geneve://ADDR:PORT")
	readFile := fs.StringP("read", "r", "", "read this pcap/pcapng file through the capture engine")
	filter := fs.String("filter", "", "BPF filter (tcpdump syntax) for -i")
	workers := fs.Int("workers", 1, "sockets and flow tables (fanout group for -i, SO_REUSEPORT for --listen)")
	snaplen := fs.Int("snaplen", 0, "bytes kept per packet (default 65535; bytes still come from the IP headers)")
	ringMB := fs.Int("buffer-mb", 0, "AF_PACKET ring per worker in MiB (default 64), or listener socket buffer (default 16)")
	policies := fs.StringSlice("policy", nil, "judge records against these policy files (repeatable, or comma-separated)")
	format := fs.String("format", "jsonl", "output format: jsonl, csv, table or parquet (with --policy: jsonl or csv)")
	out := fs.StringP("output", "o", "", "write records to this file instead of standard output")
	maxFlows := fs.Int("max-flows", flowtable.DefaultMaxFlows, "flows held at once over all workers; when full the least recently seen is emitted")
	active := fs.Duration("active-timeout", flowtable.DefaultActive, "longest time one record spans (a long flow gives several)")
	idle := fs.Duration("idle-timeout", flowtable.DefaultIdle, "emit a flow after this long without packets")
	duration := fs.Duration("duration", 0, "stop after this long (default: until SIGINT/SIGTERM)")
	verbose := fs.BoolP("verbose", "v", false, "print the counters every --stats-interval")
	interval := fs.Duration("stats-interval", 10*time.Second, "period of the -v counters")
	quiet := fs.BoolP("quiet", "q", false, "do not print the final counters")
	store := fs.String("store", "", "also store records (and verdicts with --policy) in ClickHouse:\nclickhouse://USER@HOST:PORT/DB (password from $CLICKHOUSE_PASSWORD or --password-file)")
	pwFile := fs.String("password-file", "", "file whose first line is the ClickHouse password (default: $CLICKHOUSE_PASSWORD)")
	if done, st := parseFlags(e, fs, captureHelp, args); done {
		return st
	}
	nsrc := 0
	for _, s := range []string{*iface, *listen, *readFile} {
		if s != "" {
			nsrc++
		}
	}
	if nsrc != 1 {
		return usageError(e, "capture", "give exactly one of -i IFACE, --listen URL or -r FILE")
	}
	if fs.NArg() > 0 {
		return usageError(e, "capture", "unexpected argument %q", fs.Arg(0))
	}
	if *workers < 1 || *workers > 1024 {
		return usageError(e, "capture", "--workers must be between 1 and 1024")
	}
	if *filter != "" && *iface == "" {
		return usageError(e, "capture", "--filter applies to -i only")
	}
	if *maxFlows < 1 || *active <= 0 || *idle <= 0 || *interval <= 0 {
		return usageError(e, "capture", "--max-flows, --active-timeout, --idle-timeout and --stats-interval must be positive")
	}
	judged := len(*policies) > 0
	switch {
	case judged && *format != "jsonl" && *format != "csv":
		return usageError(e, "capture", "--format %q with --policy: want jsonl or csv", *format)
	case *format == "parquet" && *out == "":
		return usageError(e, "capture", "--format parquet needs -o FILE")
	case *format != "jsonl" && *format != "csv" && *format != "table" && *format != "parquet":
		return usageError(e, "capture", "unknown --format %q (jsonl, csv, table or parquet)", *format)
	}
	var listenAddr live.Listen
	if *listen != "" {
		l, err := live.ParseListen(*listen)
		if err != nil {
			return usageError(e, "capture", "%v", err)
		}
		listenAddr = l
	}

	var eng *verdict.Engine
	if judged {
		set, err := load.Files(*policies)
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift capture: policy: %v\n", err)
			return exitUsage
		}
		for _, w := range set.Warnings {
			fmt.Fprintf(e.stderr, "flowsift capture: warning: %s\n", w)
		}
		eng = verdict.NewEngine(set)
	}

	// Open the sources before the output, so a bad interface leaves no
	// empty output file behind.
	opts := live.Options{Workers: *workers, Filter: *filter, Snaplen: *snaplen, RingMB: *ringMB}
	var srcs []live.Source
	var err error
	source := flowlog.SourceLive
	var ifaceName func(uint32) string // the record's iface key
	switch {
	case *iface != "":
		srcs, err = live.OpenInterface(*iface, opts)
		ifaceName = live.IfaceName
	case *listen != "":
		srcs, err = live.OpenListener(listenAddr, opts) // iface "": the tunnel keys name the session
	default:
		srcs, source, ifaceName, err = openCaptureFile(*readFile)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift capture: %v\n", err)
		return exitUnusable
	}
	if *iface != "" && !*quiet {
		fmt.Fprintf(e.stderr, "flowsift capture: capturing on %s (%d worker(s))\n", *iface, len(srcs))
	}
	if *listen != "" && !*quiet {
		if a, ok := live.Bound(srcs[0]); ok {
			fmt.Fprintf(e.stderr, "flowsift capture: listening on %s (%d worker(s))\n", strings.SplitN(listenAddr.String(), "://", 2)[0]+"://"+a.String(), len(srcs))
		}
	}

	var sink *clickhouse.Sink
	if *store != "" {
		policyID := ""
		if judged {
			if policyID, err = policySnapshotID(*policies); err != nil {
				fmt.Fprintf(e.stderr, "flowsift capture: policy snapshot: %v\n", err)
				closeAll(srcs)
				return exitFailure
			}
		}
		sink, err = clickhouse.Open(context.Background(), *store, clickhouse.Options{PasswordFile: *pwFile, Policy: policyID,
			Logf: func(f string, a ...any) { fmt.Fprintf(e.stderr, "flowsift capture: store: "+f+"\n", a...) }})
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift capture: store: %v\n", err)
			closeAll(srcs)
			return exitFailure
		}
	}

	w := e.stdout
	var file *os.File
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift capture: %v\n", err)
			closeAll(srcs)
			if sink != nil {
				sink.Close()
			}
			return exitFailure
		}
		file, w = f, f
	}
	rw, err := newCaptureWriter(*format, w, eng)
	if err != nil {
		closeAll(srcs)
		return usageError(e, "capture", "%v", err)
	}

	engine := live.Start(live.EngineConfig{Sources: srcs,
		Table: flowtable.Config{Active: *active, Idle: *idle, MaxFlows: *maxFlows, Source: source, IfaceName: ifaceName}})

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	go func() {
		var timeout <-chan time.Time
		if *duration > 0 {
			timeout = time.After(*duration)
		}
		select {
		case <-ctx.Done():
			stopSignals() // a second signal kills
		case <-timeout:
		}
		engine.Stop()
	}()
	start := time.Now()
	var tick *time.Ticker
	var tickC <-chan time.Time
	if *verbose {
		tick = time.NewTicker(*interval)
		defer tick.Stop()
		tickC = tick.C
	}

	var werr, serr error
	var res verdict.Result
	records := engine.Records()
loop:
	for {
		select {
		case b, ok := <-records:
			if !ok {
				break loop
			}
			for i := range b.Recs {
				r := &b.Recs[i]
				var rp *verdict.Result
				if eng != nil {
					eng.Evaluate(r, verdict.DetectOne(r), &res)
					rp = &res
				}
				if werr == nil {
					werr = rw.write(r, rp)
					if werr != nil {
						engine.Stop() // keep draining so the workers can finish
					}
				}
				if sink != nil && serr == nil {
					serr = sink.Write(r, rp)
				}
			}
			b.Done()
			if werr == nil && len(records) == 0 {
				werr = rw.flush() // nothing more queued: let readers see the records
			}
		case <-tickC:
			if !*quiet {
				printCaptureCounters(e.stderr, "stats", engine.Counters(), time.Since(start))
			}
		}
	}
	if cerr := rw.close(); werr == nil {
		werr = cerr
	}
	if file != nil {
		if cerr := file.Close(); werr == nil {
			werr = cerr
		}
	}
	status := exitOK
	if sink != nil {
		if err := sink.Close(); err != nil {
			if errors.Is(err, clickhouse.ErrPending) {
				fmt.Fprintf(e.stderr, "flowsift capture: store: %v (kept in the spool; the next run sends it)\n", err)
			} else {
				fmt.Fprintf(e.stderr, "flowsift capture: store: %v\n", err)
			}
			status = exitFailure
		} else if serr != nil {
			fmt.Fprintf(e.stderr, "flowsift capture: store: %v\n", serr)
			status = exitFailure
		}
	}
	if !*quiet {
		printCaptureCounters(e.stderr, "total", engine.Counters(), time.Since(start))
	}
	if err := engine.Err(); err != nil {
		fmt.Fprintf(e.stderr, "flowsift capture: %v\n", err)
		if status == exitOK {
			status = exitUnusable
		}
	}
	if werr != nil && !errors.Is(werr, syscall.EPIPE) {
		fmt.Fprintf(e.stderr, "flowsift capture: writing records: %v\n", werr)
		status = exitFailure
	}
	return status
}

func closeAll(srcs []live.Source) {
	for _, s := range srcs {
		s.Close()
	}
}

// openCaptureFile opens -r FILE as one engine source; interfaces are named
// by the pcapng if_name option, as flowsift flows does.
func openCaptureFile(path string) ([]live.Source, flowlog.Source, func(uint32) string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	r, err := pcapfile.NewReader(f) // it buffers itself
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	src := flowlog.SourcePcap
	if r.Format() == pcapfile.FormatPcapNG {
		src = flowlog.SourcePcapng
	}
	// Interfaces() grows as the reader meets later sections; the flow
	// table calls this from the worker that drives the reader.
	name := func(i uint32) string {
		if ifs := r.Interfaces(); int(i) < len(ifs) {
			return ifs[i].Name
		}
		return ""
	}
	return []live.Source{live.FromFrames(closingReader{r, f})}, src, name, nil
}

type closingReader struct {
	*pcapfile.Reader
	f *os.File
}

func (c closingReader) Close() error { return c.f.Close() }

// printCaptureCounters writes one counters line.
func printCaptureCounters(w io.Writer, label string, c live.Counters, el time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "capture %s: %s frame(s) read, %s decoded, %s undecodable", label, group(int64(c.Frames)),
		group(int64(c.Decoded())), group(int64(c.Undecodable())))
	var parts []string
	for r := 1; r < capture.NumReasons; r++ {
		if n := c.Reasons[r]; n > 0 {
			parts = append(parts, capture.Reason(r).String()+" "+group(int64(n)))
		}
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	fmt.Fprintf(&b, ", %s dropped by the kernel", group(int64(c.Source.KernelDrops)))
	if c.Source.Freezes > 0 {
		fmt.Fprintf(&b, " (%s ring freezes)", group(int64(c.Source.Freezes)))
	}
	if c.Source.Oversize > 0 {
		fmt.Fprintf(&b, ", %s datagram(s) over the snap length", group(int64(c.Source.Oversize)))
	}
	fl := c.Flows
	fmt.Fprintf(&b, "; %s flow record(s) emitted (idle %s, active %s, evicted %s, flushed %s), %s flow(s) open",
		group(int64(fl.Emitted)), group(int64(fl.Idle)), group(int64(fl.Split)), group(int64(fl.Evicted)),
		group(int64(fl.Flushed)), group(int64(fl.Active)))
	if fl.Truncated > 0 {
		fmt.Fprintf(&b, ", %s truncated packet(s)", group(int64(fl.Truncated)))
	}
	if s := el.Seconds(); s > 0 {
		fmt.Fprintf(&b, "; %s s, %s frames/s", fmt.Sprintf("%.1f", s), group(int64(float64(c.Frames)/s)))
	}
	fmt.Fprintln(w, b.String())
}

// captureWriter writes records (with their judgment when there is one).
type captureWriter struct {
	bw   *bufio.Writer
	buf  []byte
	text flowtext.Writer // csv/table/parquet records
	csv  *csv.Writer     // csv with verdicts
	eng  *verdict.Engine
	json bool
}

func newCaptureWriter(format string, w io.Writer, eng *verdict.Engine) (*captureWriter, error) {
	cw := &captureWriter{bw: bufio.NewWriterSize(w, 256<<10), eng: eng}
	switch {
	case format == "jsonl":
		cw.json = true
	case eng != nil: // csv
		cw.csv = csv.NewWriter(cw.bw)
		if err := cw.csv.Write(perFlowColumns); err != nil {
			return nil, err
		}
	default:
		t, err := newRecordWriter(format, cw.bw)
		if err != nil {
			return nil, err
		}
		cw.text = t
	}
	return cw, nil
}

func (cw *captureWriter) write(r *flowlog.Record, res *verdict.Result) error {
	switch {
	case cw.json && res != nil:
		cw.buf = appendResultJSON(cw.buf[:0], r, res)
		cw.buf = append(cw.buf, '\n')
	case cw.json:
		cw.buf = flowlog.AppendJSON(cw.buf[:0], r)
		cw.buf = append(cw.buf, '\n')
	case cw.csv != nil:
		return cw.csv.Write(perFlowRow(r, res))
	default:
		return cw.text.Write(r)
	}
	_, err := cw.bw.Write(cw.buf)
	return err
}

// flush pushes out what is buffered (JSONL and judged CSV stream; the
// flowtext writers keep their own buffers until close).
func (cw *captureWriter) flush() error {
	if cw.csv != nil {
		cw.csv.Flush()
		if err := cw.csv.Error(); err != nil {
			return err
		}
	}
	return cw.bw.Flush()
}

func (cw *captureWriter) close() error {
	if cw.text != nil {
		if err := cw.text.Close(); err != nil {
			return err
		}
	}
	return cw.flush()
}
