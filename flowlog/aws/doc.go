// Package aws reads AWS VPC and Transit Gateway flow logs: the space-separated
// text format in its default or any custom field order (S3 objects with a
// header, CloudWatch messages without), CloudWatch subscription and console
// exports, and the Parquet objects of S3 delivery (FORMATS.md sections 3-4).
//
// Readers take an io.Reader (or an io.ReaderAt for Parquet) and report
// malformed lines through a flowlog.Tally; opening files, gzip and format
// detection are flowlog/input's job.
package aws
