package gcp

import "github.com/flowsift/flowsift/flowlog"

func (d *Decoder) DecodeBytes(b []byte, pos int64, rec *flowlog.Record) (ok, handled bool) {
	return false, false
}
