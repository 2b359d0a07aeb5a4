-- title: Exposures (sensitive port reachable from the internet)
-- panel: table
-- width: 24
-- description: The 20 worst groups of finding exposure (interface, source, destination, port, protocol, deciding rule or reason), from the hourly offenders rollup.
SELECT
    iface,
    replaceRegexpOne(IPv6NumToString(src), '^::ffff:', '') AS source,
    replaceRegexpOne(IPv6NumToString(dst), '^::ffff:', '') AS destination,
    dport,
    proto,
    rule,
    sum(flows) AS flows,
    sum(packets) AS packets,
    sum(bytes) AS bytes
FROM offenders_1h
WHERE finding = 'exposure' AND $__timeFilter(bucket)
GROUP BY iface, src, dst, dport, proto, rule
HAVING flows != 0
ORDER BY flows DESC, bytes DESC
LIMIT 20
