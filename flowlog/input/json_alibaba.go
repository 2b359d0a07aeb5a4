package input

import (
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/alibaba"
)

// newAlibabaJSON returns the decoder of Alibaba SLS JSON rows (FORMATS.md
// 5), owned by package flowlog/alibaba.
func newAlibabaJSON(t *flowlog.Tally) rowDecoder {
	return alibaba.NewDecoder(t, flowlog.SourceAlibabaJSON)
}
