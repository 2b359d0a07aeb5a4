// Package csvrow owns the RFC 4180 row splitter shared by flowsift's CSV
// readers (Alibaba SLS export, CloudWatch console CSV): quoted cells, doubled
// quotes and quoted newlines, with the line number where each row starts and
// without an allocation per row. It leaves the meaning of the cells (header
// mapping, validation, records) to the readers that use it.
package csvrow
