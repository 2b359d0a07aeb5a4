package parquet

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// pageEncoder compresses the pages of every Writer of the process:
// EncodeAll is safe for concurrent use and keeps its encoder state in an
// internal pool, so a page costs no allocation. SpeedFastest: on flow
// columns the better levels gain a few percent of size for twice the time.
var pageEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithZeroFrames(true))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
})

func zstdEncoder() *zstd.Encoder { return pageEncoder() }
