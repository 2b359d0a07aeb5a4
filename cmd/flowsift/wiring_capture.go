package main

import (
	"io"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/decode"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/capture/pcapfile"
	"github.com/flowsift/flowsift/flowlog"
)

// newCaptureFileReader is input.Options.Capture: it reads a pcap/pcapng stream
// through pcapfile → decode → flowtable (default timeouts in packet time,
// flushed at the end) as a flowlog.Reader. A file whose header cannot be
// read is unusable (noted, nil reader); damage later ends the frames and is
// reported at the frame number, after the records of the frames before it.
func newCaptureFileReader(r io.Reader, t *flowlog.Tally, pcapng bool) flowlog.Reader {
	return newCaptureFileReaderWith(r, t, pcapng, flowtable.Config{})
}

// newCaptureFileReaderWith is newCaptureFileReader with flow-table settings (the
// timeouts and bound of a command's flags); cfg.Source and cfg.IfaceName
// are set here.
func newCaptureFileReaderWith(r io.Reader, t *flowlog.Tally, pcapng bool, cfg flowtable.Config) flowlog.Reader {
	cfg.Source = flowlog.SourcePcap
	if pcapng {
		cfg.Source = flowlog.SourcePcapng
	}
	t.Format = cfg.Source
	pr, err := pcapfile.NewReader(r)
	if err != nil {
		t.Note(flowlog.NoticeUnsupported, err.Error())
		return nil
	}
	cfg.IfaceName = func(i uint32) string {
		if ifs := pr.Interfaces(); int(i) < len(ifs) {
			return ifs[i].Name
		}
		return ""
	}
	return capture.NewPipeline(capture.PipelineConfig{
		Source: pr,
		Decode: decode.New(decode.Options{}).Decode,
		Table:  flowtable.New(cfg),
		Tally:  t,
	})
}
