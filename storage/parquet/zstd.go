package parquet

import (
	"sync"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdCodec is Arrow's zstd codec with one encoder per level, shared:
// Arrow's EncodeLevel builds a new zstd encoder (hundreds of KB of tables
// and history) for every page it compresses, which dominated the writer's
// allocations. The encoder options are Arrow's, so pages are compressed to
// the same bytes. EncodeAll is safe for concurrent use. Everything else is
// delegated to Arrow's codec.
type zstdCodec struct {
	compress.Codec
	encoders sync.Map // zstd.EncoderLevel -> *zstd.Encoder
}

func (z *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	lvl := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		lvl = zstd.SpeedDefault
	}
	e, ok := z.encoders.Load(lvl)
	if !ok {
		enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(lvl))
		if err != nil {
			return z.Codec.EncodeLevel(dst, src, level)
		}
		e, _ = z.encoders.LoadOrStore(lvl, enc)
	}
	return e.(*zstd.Encoder).EncodeAll(src, dst[:0])
}

// Arrow documents RegisterCodec as meant for an init function. It is
// process-wide: every Parquet writer of the process gets the shared
// encoders.
func init() {
	if c, err := compress.GetCodec(compress.Codecs.Zstd); err == nil {
		compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{Codec: c})
	}
}
