// Package alibaba owns the reading of Alibaba Cloud VPC flow logs as Simple
// Log Service exports them (FORMATS.md section 5): one JSON object per row
// (Decoder, fed with values parsed by github.com/valyala/fastjson) and the
// quoted CSV export with a header row (CSVReader), both mapped by the same
// row rules onto flowlog.Record.
//
// It leaves finding the JSON values in a file (NDJSON or document mode,
// bad-json positions), gzip and format detection to flowlog/input, and
// counting returned JSON records (Tally.Records) to the JSON reader that
// calls Decoder.DecodeJSON; CSVReader counts its own records, as every
// flowlog.Reader does.
package alibaba
