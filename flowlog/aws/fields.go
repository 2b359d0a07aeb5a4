package aws

import (
	"strings"

	"github.com/flowsift/flowsift/flowlog"
)

// fieldID identifies one AWS flow-log field.
type fieldID uint8

// How a field's value is validated and where it goes.
type fieldKind uint8

const (
	kStr     fieldKind = iota // optional string attribute, copied as written
	kInt32                    // optional integer attribute, <= 2^31-1
	kInt64                    // optional integer attribute, <= 2^63-1
	kPktAddr                  // pkt-srcaddr/pkt-dstaddr: canonical when it parses, else left out
	kCore                     // a fixed key, handled by the reader
)

type fieldDef struct {
	name    string // as in a header, e.g. "pkt-srcaddr"
	column  string // Parquet column, e.g. "pkt_srcaddr"
	kind    fieldKind
	attr    flowlog.AttrKey
	version int // version that introduced it (6 = Transit Gateway set)
}

// Core fields (kind kCore), in the order validation checks them (FORMATS.md
// 3.4 table order): a line with several defects reports the first in this
// order. That order is flowsift's choice; the reference does not say which
// defect of a multi-defect line comes first.
const (
	fSrcAddr fieldID = iota
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fTCPFlags
	fAction
	fFlowDirection
	fLogStatus
	fAccountID
	fInterfaceID
	fVPCID
	fSubnetID
	numCore
)

var fieldDefs = []fieldDef{
	fSrcAddr:       {name: "srcaddr", kind: kCore, version: 2},
	fDstAddr:       {name: "dstaddr", kind: kCore, version: 2},
	fSrcPort:       {name: "srcport", kind: kCore, version: 2},
	fDstPort:       {name: "dstport", kind: kCore, version: 2},
	fProtocol:      {name: "protocol", kind: kCore, version: 2},
	fPackets:       {name: "packets", kind: kCore, version: 2},
	fBytes:         {name: "bytes", kind: kCore, version: 2},
	fStart:         {name: "start", kind: kCore, version: 2},
	fEnd:           {name: "end", kind: kCore, version: 2},
	fTCPFlags:      {name: "tcp-flags", kind: kCore, version: 3},
	fAction:        {name: "action", kind: kCore, version: 2},
	fFlowDirection: {name: "flow-direction", kind: kCore, version: 5},
	fLogStatus:     {name: "log-status", kind: kCore, version: 2},
	fAccountID:     {name: "account-id", kind: kCore, version: 2},
	fInterfaceID:   {name: "interface-id", kind: kCore, version: 2},
	fVPCID:         {name: "vpc-id", kind: kCore, version: 3},
	fSubnetID:      {name: "subnet-id", kind: kCore, version: 3},
	// Optional keys. Integer ones are validated after the core numbers.
	{name: "packets-lost-no-route", kind: kInt64, attr: flowlog.AttrPacketsLostNoRoute, version: 6},
	{name: "packets-lost-blackhole", kind: kInt64, attr: flowlog.AttrPacketsLostBlackhole, version: 6},
	{name: "packets-lost-mtu-exceeded", kind: kInt64, attr: flowlog.AttrPacketsLostMtuExceeded, version: 6},
	{name: "packets-lost-ttl-expired", kind: kInt64, attr: flowlog.AttrPacketsLostTtlExpired, version: 6},
	{name: "version", kind: kInt32, attr: flowlog.AttrVersion, version: 2},
	{name: "traffic-path", kind: kInt32, attr: flowlog.AttrTrafficPath, version: 5},
	{name: "pkt-srcaddr", kind: kPktAddr, attr: flowlog.AttrPktSrcaddr, version: 3},
	{name: "pkt-dstaddr", kind: kPktAddr, attr: flowlog.AttrPktDstaddr, version: 3},
	{name: "instance-id", kind: kStr, attr: flowlog.AttrInstanceId, version: 3},
	{name: "type", kind: kStr, attr: flowlog.AttrType, version: 3},
	{name: "region", kind: kStr, attr: flowlog.AttrRegion, version: 4},
	{name: "az-id", kind: kStr, attr: flowlog.AttrAzId, version: 4},
	{name: "sublocation-type", kind: kStr, attr: flowlog.AttrSublocationType, version: 4},
	{name: "sublocation-id", kind: kStr, attr: flowlog.AttrSublocationId, version: 4},
	{name: "pkt-src-aws-service", kind: kStr, attr: flowlog.AttrPktSrcAwsService, version: 5},
	{name: "pkt-dst-aws-service", kind: kStr, attr: flowlog.AttrPktDstAwsService, version: 5},
	{name: "ecs-cluster-arn", kind: kStr, attr: flowlog.AttrEcsClusterArn, version: 7},
	{name: "ecs-cluster-name", kind: kStr, attr: flowlog.AttrEcsClusterName, version: 7},
	{name: "ecs-container-instance-arn", kind: kStr, attr: flowlog.AttrEcsContainerInstanceArn, version: 7},
	{name: "ecs-container-instance-id", kind: kStr, attr: flowlog.AttrEcsContainerInstanceId, version: 7},
	{name: "ecs-container-id", kind: kStr, attr: flowlog.AttrEcsContainerId, version: 7},
	{name: "ecs-second-container-id", kind: kStr, attr: flowlog.AttrEcsSecondContainerId, version: 7},
	{name: "ecs-service-name", kind: kStr, attr: flowlog.AttrEcsServiceName, version: 7},
	{name: "ecs-task-definition-arn", kind: kStr, attr: flowlog.AttrEcsTaskDefinitionArn, version: 7},
	{name: "ecs-task-arn", kind: kStr, attr: flowlog.AttrEcsTaskArn, version: 7},
	{name: "ecs-task-id", kind: kStr, attr: flowlog.AttrEcsTaskId, version: 7},
	{name: "reject-reason", kind: kStr, attr: flowlog.AttrRejectReason, version: 8},
	{name: "resource-type", kind: kStr, attr: flowlog.AttrResourceType, version: 6},
	{name: "tgw-id", kind: kStr, attr: flowlog.AttrTgwId, version: 6},
	{name: "tgw-attachment-id", kind: kStr, attr: flowlog.AttrTgwAttachmentId, version: 6},
	{name: "tgw-src-vpc-account-id", kind: kStr, attr: flowlog.AttrTgwSrcVpcAccountId, version: 6},
	{name: "tgw-dst-vpc-account-id", kind: kStr, attr: flowlog.AttrTgwDstVpcAccountId, version: 6},
	{name: "tgw-src-vpc-id", kind: kStr, attr: flowlog.AttrTgwSrcVpcId, version: 6},
	{name: "tgw-dst-vpc-id", kind: kStr, attr: flowlog.AttrTgwDstVpcId, version: 6},
	{name: "tgw-src-subnet-id", kind: kStr, attr: flowlog.AttrTgwSrcSubnetId, version: 6},
	{name: "tgw-dst-subnet-id", kind: kStr, attr: flowlog.AttrTgwDstSubnetId, version: 6},
	{name: "tgw-src-eni", kind: kStr, attr: flowlog.AttrTgwSrcEni, version: 6},
	{name: "tgw-dst-eni", kind: kStr, attr: flowlog.AttrTgwDstEni, version: 6},
	{name: "tgw-src-az-id", kind: kStr, attr: flowlog.AttrTgwSrcAzId, version: 6},
	{name: "tgw-dst-az-id", kind: kStr, attr: flowlog.AttrTgwDstAzId, version: 6},
	{name: "tgw-pair-attachment-id", kind: kStr, attr: flowlog.AttrTgwPairAttachmentId, version: 6},
}

var fieldByName = func() map[string]fieldID {
	m := make(map[string]fieldID, len(fieldDefs))
	for i := range fieldDefs {
		d := &fieldDefs[i]
		d.column = strings.ReplaceAll(d.name, "-", "_")
		m[d.name] = fieldID(i)
	}
	return m
}()

var (
	fVersion     = fieldByName["version"]
	fTrafficPath = fieldByName["traffic-path"]
)

var fieldByColumn = func() map[string]fieldID {
	m := make(map[string]fieldID, len(fieldDefs))
	for i, d := range fieldDefs {
		m[strings.ReplaceAll(d.name, "-", "_")] = fieldID(i)
	}
	return m
}()

// FieldNames lists every known field name, in the order of FORMATS.md 3.2/3.9.
func FieldNames() []string {
	out := make([]string, len(fieldDefs))
	for i, d := range fieldDefs {
		out[i] = d.name
	}
	return out
}

// DefaultFields is the version 2 default format.
var DefaultFields = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr",
	"srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}

// TGWDefaultFields is the Transit Gateway default format (FORMATS.md 3.9).
var TGWDefaultFields = []string{"version", "resource-type", "account-id", "tgw-id",
	"tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id", "tgw-src-vpc-id",
	"tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni",
	"tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr", "dstaddr", "srcport",
	"dstport", "protocol", "packets", "bytes", "start", "end", "log-status", "type",
	"packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
	"packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service",
	"pkt-dst-aws-service"}
