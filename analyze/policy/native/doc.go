// Package native owns flowsift's own policy YAML: the neutral model of
// analyze/policy written out (Write) and read back (Load) so that every
// provider's policy can be reviewed, edited, versioned and re-run with the
// same decisions. It leaves provider formats to the provider packages.
//
// Format (top-level key flowsift_policy: 1):
//
//	flowsift_policy: 1
//	own: [10.0.0.0/16]                 # own networks for the internet test
//	layers:                            # every layer once, referenced by name
//	  - name: acl-0a1b
//	    kind: aws-nacl                 # aws-nacl aws-sg ali-nacl ali-sg ec-filter es-filter
//	    skip_local: true               # not crossed for remotes in the interface's local prefixes
//	    ingress:
//	      rules:                       # evaluated in order, first match decides
//	        - id: acl-0a1b/ingress/100
//	          action: deny             # allow | deny
//	          proto: 6                 # IANA number, -1 = all
//	          ports: ["22"]            # destination ports of TCP/UDP rules ("a-b"); omitted = all
//	          src_ports: ["1024-65535"]
//	          icmp_type: 8             # ICMP rules; omitted = any
//	          icmp_code: 0
//	          remote: [198.51.100.0/24]
//	          remote_glob: ["192.168.0.*"]
//	          remote_unknown: prefix-list-entries-missing   # remote outside `remote` is undecidable
//	          unknown_skips_internet: true
//	          local: [10.0.1.10/32]    # five-tuple rules only
//	          unknown: port-list-unknown                     # the rule is undecidable
//	          scope: acl-0a1b          # descriptive: owner, priority, identity, origin, text
//	      default: {action: deny, id: acl-0a1b/ingress/*}     # or {reason: nacl-not-found}
//	    egress: {...}
//	interfaces:
//	  - {id: eni-1, provider: aws, subnet: subnet-1, vpc: vpc-1, owner: "1111",
//	     addresses: [10.0.1.10], local: [10.0.1.0/24], unfiltered: [169.254.169.254/32],
//	     unfiltered_dhcp: true, layers: [acl-0a1b, sg-1]}
//	deployments:
//	  - {id: 0a1b…, addresses: [34.199.10.20/32], layer: ec:0a1b…}
//	nodes:
//	  - {name: es-node-1, addresses: [10.0.3.10/32], filters: [{ports: "9200", layer: es:es-node-1/http}]}
package native
