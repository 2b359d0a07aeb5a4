// Code generated from the key list of FORMATS.md 1.3; keep the constants in byte-wise
// order of their JSON names: the encoder relies on it. DO NOT reorder by hand.

package flowlog

// AttrKey names an optional record key (FORMATS.md 1.3). Keys compare in the
// byte-wise order of their JSON names.
type AttrKey uint8

const (
	AttrNone                    AttrKey = iota
	AttrAclId                           // acl_id (str)
	AttrAzId                            // az_id (str)
	AttrDisposition                     // disposition (str)
	AttrDstAsn                          // dst_asn (int)
	AttrDstCountry                      // dst_country (str)
	AttrDstGkeCluster                   // dst_gke_cluster (str)
	AttrDstGkeNamespace                 // dst_gke_namespace (str)
	AttrDstGkePod                       // dst_gke_pod (str)
	AttrDstInstance                     // dst_instance (str)
	AttrDstType                         // dst_type (str)
	AttrDstVpc                          // dst_vpc (str)
	AttrEcsClusterArn                   // ecs_cluster_arn (str)
	AttrEcsClusterName                  // ecs_cluster_name (str)
	AttrEcsContainerId                  // ecs_container_id (str)
	AttrEcsContainerInstanceArn         // ecs_container_instance_arn (str)
	AttrEcsContainerInstanceId          // ecs_container_instance_id (str)
	AttrEcsSecondContainerId            // ecs_second_container_id (str)
	AttrEcsServiceName                  // ecs_service_name (str)
	AttrEcsTaskArn                      // ecs_task_arn (str)
	AttrEcsTaskDefinitionArn            // ecs_task_definition_arn (str)
	AttrEcsTaskId                       // ecs_task_id (str)
	AttrEncryption                      // encryption (str)
	AttrFlowState                       // flow_state (str)
	AttrFragBytes                       // frag_bytes (int)
	AttrFragPackets                     // frag_packets (int)
	AttrGwlbAttachmentId                // gwlb_attachment_id (str)
	AttrGwlbEndpointId                  // gwlb_endpoint_id (str)
	AttrGwlbFlowCookie                  // gwlb_flow_cookie (str)
	AttrIcmpCode                        // icmp_code (int)
	AttrIcmpType                        // icmp_type (int)
	AttrInstance                        // instance (str)
	AttrInstanceId                      // instance_id (str)
	AttrPacketsLostBlackhole            // packets_lost_blackhole (int)
	AttrPacketsLostMtuExceeded          // packets_lost_mtu_exceeded (int)
	AttrPacketsLostNoRoute              // packets_lost_no_route (int)
	AttrPacketsLostTtlExpired           // packets_lost_ttl_expired (int)
	AttrPktDstAwsService                // pkt_dst_aws_service (str)
	AttrPktDstaddr                      // pkt_dstaddr (str)
	AttrPktSrcAwsService                // pkt_src_aws_service (str)
	AttrPktSrcaddr                      // pkt_srcaddr (str)
	AttrRegion                          // region (str)
	AttrRejectReason                    // reject_reason (str)
	AttrRemoteInstance                  // remote_instance (str)
	AttrReporter                        // reporter (str)
	AttrResourceId                      // resource_id (str)
	AttrResourceType                    // resource_type (str)
	AttrRttMsec                         // rtt_msec (int)
	AttrRule                            // rule (str)
	AttrRuleAction                      // rule_action (str)
	AttrRulePriority                    // rule_priority (int)
	AttrSamplingRate                    // sampling_rate (int)
	AttrSrcAsn                          // src_asn (int)
	AttrSrcCountry                      // src_country (str)
	AttrSrcGkeCluster                   // src_gke_cluster (str)
	AttrSrcGkeNamespace                 // src_gke_namespace (str)
	AttrSrcGkePod                       // src_gke_pod (str)
	AttrSrcInstance                     // src_instance (str)
	AttrSrcType                         // src_type (str)
	AttrSrcVpc                          // src_vpc (str)
	AttrSublocationId                   // sublocation_id (str)
	AttrSublocationType                 // sublocation_type (str)
	AttrTgwAttachmentId                 // tgw_attachment_id (str)
	AttrTgwDstAzId                      // tgw_dst_az_id (str)
	AttrTgwDstEni                       // tgw_dst_eni (str)
	AttrTgwDstSubnetId                  // tgw_dst_subnet_id (str)
	AttrTgwDstVpcAccountId              // tgw_dst_vpc_account_id (str)
	AttrTgwDstVpcId                     // tgw_dst_vpc_id (str)
	AttrTgwId                           // tgw_id (str)
	AttrTgwPairAttachmentId             // tgw_pair_attachment_id (str)
	AttrTgwSrcAzId                      // tgw_src_az_id (str)
	AttrTgwSrcEni                       // tgw_src_eni (str)
	AttrTgwSrcSubnetId                  // tgw_src_subnet_id (str)
	AttrTgwSrcVpcAccountId              // tgw_src_vpc_account_id (str)
	AttrTgwSrcVpcId                     // tgw_src_vpc_id (str)
	AttrTrafficPath                     // traffic_path (int)
	AttrTrafficPathName                 // traffic_path_name (str)
	AttrTruncatedPackets                // truncated_packets (int)
	AttrTunnelDst                       // tunnel_dst (str)
	AttrTunnelId                        // tunnel_id (int)
	AttrTunnelSrc                       // tunnel_src (str)
	AttrTunnelType                      // tunnel_type (str)
	AttrTunnelVni                       // tunnel_vni (int)
	AttrType                            // type (str)
	AttrVersion                         // version (int)
	AttrVlan                            // vlan (int)
	numAttrKeys
)

var attrNames = [numAttrKeys]string{
	AttrAclId:                   "acl_id",
	AttrAzId:                    "az_id",
	AttrDisposition:             "disposition",
	AttrDstAsn:                  "dst_asn",
	AttrDstCountry:              "dst_country",
	AttrDstGkeCluster:           "dst_gke_cluster",
	AttrDstGkeNamespace:         "dst_gke_namespace",
	AttrDstGkePod:               "dst_gke_pod",
	AttrDstInstance:             "dst_instance",
	AttrDstType:                 "dst_type",
	AttrDstVpc:                  "dst_vpc",
	AttrEcsClusterArn:           "ecs_cluster_arn",
	AttrEcsClusterName:          "ecs_cluster_name",
	AttrEcsContainerId:          "ecs_container_id",
	AttrEcsContainerInstanceArn: "ecs_container_instance_arn",
	AttrEcsContainerInstanceId:  "ecs_container_instance_id",
	AttrEcsSecondContainerId:    "ecs_second_container_id",
	AttrEcsServiceName:          "ecs_service_name",
	AttrEcsTaskArn:              "ecs_task_arn",
	AttrEcsTaskDefinitionArn:    "ecs_task_definition_arn",
	AttrEcsTaskId:               "ecs_task_id",
	AttrEncryption:              "encryption",
	AttrFlowState:               "flow_state",
	AttrFragBytes:               "frag_bytes",
	AttrFragPackets:             "frag_packets",
	AttrGwlbAttachmentId:        "gwlb_attachment_id",
	AttrGwlbEndpointId:          "gwlb_endpoint_id",
	AttrGwlbFlowCookie:          "gwlb_flow_cookie",
	AttrIcmpCode:                "icmp_code",
	AttrIcmpType:                "icmp_type",
	AttrInstance:                "instance",
	AttrInstanceId:              "instance_id",
	AttrPacketsLostBlackhole:    "packets_lost_blackhole",
	AttrPacketsLostMtuExceeded:  "packets_lost_mtu_exceeded",
	AttrPacketsLostNoRoute:      "packets_lost_no_route",
	AttrPacketsLostTtlExpired:   "packets_lost_ttl_expired",
	AttrPktDstAwsService:        "pkt_dst_aws_service",
	AttrPktDstaddr:              "pkt_dstaddr",
	AttrPktSrcAwsService:        "pkt_src_aws_service",
	AttrPktSrcaddr:              "pkt_srcaddr",
	AttrRegion:                  "region",
	AttrRejectReason:            "reject_reason",
	AttrRemoteInstance:          "remote_instance",
	AttrReporter:                "reporter",
	AttrResourceId:              "resource_id",
	AttrResourceType:            "resource_type",
	AttrRttMsec:                 "rtt_msec",
	AttrRule:                    "rule",
	AttrRuleAction:              "rule_action",
	AttrRulePriority:            "rule_priority",
	AttrSamplingRate:            "sampling_rate",
	AttrSrcAsn:                  "src_asn",
	AttrSrcCountry:              "src_country",
	AttrSrcGkeCluster:           "src_gke_cluster",
	AttrSrcGkeNamespace:         "src_gke_namespace",
	AttrSrcGkePod:               "src_gke_pod",
	AttrSrcInstance:             "src_instance",
	AttrSrcType:                 "src_type",
	AttrSrcVpc:                  "src_vpc",
	AttrSublocationId:           "sublocation_id",
	AttrSublocationType:         "sublocation_type",
	AttrTgwAttachmentId:         "tgw_attachment_id",
	AttrTgwDstAzId:              "tgw_dst_az_id",
	AttrTgwDstEni:               "tgw_dst_eni",
	AttrTgwDstSubnetId:          "tgw_dst_subnet_id",
	AttrTgwDstVpcAccountId:      "tgw_dst_vpc_account_id",
	AttrTgwDstVpcId:             "tgw_dst_vpc_id",
	AttrTgwId:                   "tgw_id",
	AttrTgwPairAttachmentId:     "tgw_pair_attachment_id",
	AttrTgwSrcAzId:              "tgw_src_az_id",
	AttrTgwSrcEni:               "tgw_src_eni",
	AttrTgwSrcSubnetId:          "tgw_src_subnet_id",
	AttrTgwSrcVpcAccountId:      "tgw_src_vpc_account_id",
	AttrTgwSrcVpcId:             "tgw_src_vpc_id",
	AttrTrafficPath:             "traffic_path",
	AttrTrafficPathName:         "traffic_path_name",
	AttrTruncatedPackets:        "truncated_packets",
	AttrTunnelDst:               "tunnel_dst",
	AttrTunnelId:                "tunnel_id",
	AttrTunnelSrc:               "tunnel_src",
	AttrTunnelType:              "tunnel_type",
	AttrTunnelVni:               "tunnel_vni",
	AttrType:                    "type",
	AttrVersion:                 "version",
	AttrVlan:                    "vlan",
}

var attrIsInt = [numAttrKeys]bool{
	AttrDstAsn:                 true,
	AttrFragBytes:              true,
	AttrFragPackets:            true,
	AttrIcmpCode:               true,
	AttrIcmpType:               true,
	AttrPacketsLostBlackhole:   true,
	AttrPacketsLostMtuExceeded: true,
	AttrPacketsLostNoRoute:     true,
	AttrPacketsLostTtlExpired:  true,
	AttrRttMsec:                true,
	AttrRulePriority:           true,
	AttrSamplingRate:           true,
	AttrSrcAsn:                 true,
	AttrTrafficPath:            true,
	AttrTruncatedPackets:       true,
	AttrTunnelId:               true,
	AttrTunnelVni:              true,
	AttrVersion:                true,
	AttrVlan:                   true,
}
