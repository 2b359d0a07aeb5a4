package aws

import (
	"os"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// BenchRecords is the size of every generated benchmark input.
const benchRecords = 1_000_000

// AWSV2File returns the cached 1 M-record default-format file.
func awsFile(b *testing.B, name string, fields []string) string {
	return benchutil.File(b, name, func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return flowgen.AWSText(f, benchRecords, fields, 42)
	})
}

func benchText(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var rec flowlog.Record
	var total int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		r := NewTextReader(bytesReader(data), &flowlog.Tally{}, nil)
		for r.Next(&rec) {
			total++
		}
	}
	m.Stop(total)
}

// BenchmarkReadAWSText: default v2 format, 1 M records, from memory.
func BenchmarkReadAWSText(b *testing.B) { benchText(b, awsFile(b, "aws-v2.log", nil)) }

// BenchmarkReadAWSTextV5: custom format with every v5 field and a header.
func BenchmarkReadAWSTextV5(b *testing.B) {
	benchText(b, awsFile(b, "aws-v5.log", flowgen.AWSV5Fields))
}
