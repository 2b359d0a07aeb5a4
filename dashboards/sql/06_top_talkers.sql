-- title: Top talkers (bytes)
-- panel: table
-- width: 12
-- description: The 20 source/destination pairs with the most bytes. The only panel reading raw rows (flows has no talker rollup); the time range bounds the primary-key scan.
SELECT
    replaceRegexpOne(IPv6NumToString(src), '^::ffff:', '') AS source,
    replaceRegexpOne(IPv6NumToString(dst), '^::ffff:', '') AS destination,
    sum(bytes) AS bytes,
    sum(packets) AS packets,
    count() AS flows
FROM flows
WHERE $__timeFilter(start)
GROUP BY src, dst
ORDER BY bytes DESC, flows DESC
LIMIT 20
