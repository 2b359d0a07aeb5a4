// Package azure owns the mapping of Azure NSG flow logs (versions 1 and 2)
// and VNet flow logs onto flowlog records (FORMATS.md 7): one record per
// direction that carries counts, tuple-level validation, and the ids taken
// from resource paths. It leaves finding the record objects in a file (the
// streamed {"records":[...]} document, one record per line) and parsing
// their JSON to flowlog/input.
package azure
