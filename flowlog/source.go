package flowlog

// Source names the format a record was read from (FORMATS.md 1.5).
type Source uint8

const (
	SourceUnknown Source = iota
	SourceAWSText
	SourceAWSParquet
	SourceAWSCWLJSON
	SourceAWSCWLCSV
	SourceGCPFlows
	SourceGCPFirewall
	SourceAlibabaJSON
	SourceAlibabaCSV
	SourceAzureNSG
	SourceAzureVNet
	SourcePcap
	SourcePcapng
	SourceLive
	numSources
)

var sourceNames = [numSources]string{
	SourceUnknown:     "",
	SourceAWSText:     "aws-vpc-text",
	SourceAWSParquet:  "aws-vpc-parquet",
	SourceAWSCWLJSON:  "aws-cwl-json",
	SourceAWSCWLCSV:   "aws-cwl-csv",
	SourceGCPFlows:    "gcp-vpc-flows",
	SourceGCPFirewall: "gcp-firewall",
	SourceAlibabaJSON: "alibaba-sls-json",
	SourceAlibabaCSV:  "alibaba-sls-csv",
	SourceAzureNSG:    "azure-nsg",
	SourceAzureVNet:   "azure-vnet",
	SourcePcap:        "pcap",
	SourcePcapng:      "pcapng",
	SourceLive:        "live",
}

func (s Source) String() string {
	if s >= numSources {
		return ""
	}
	return sourceNames[s]
}

// ParseSource maps a format name back to its Source.
func ParseSource(name string) (Source, bool) {
	for i, n := range sourceNames {
		if n == name && i != 0 {
			return Source(i), true
		}
	}
	return SourceUnknown, false
}

// Sources lists every named source.
func Sources() []Source {
	s := make([]Source, 0, numSources-1)
	for i := Source(1); i < numSources; i++ {
		s = append(s, i)
	}
	return s
}
