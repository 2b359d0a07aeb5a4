-- title: Rule hits
-- panel: table
-- width: 12
-- description: Records whose rules list the id (default ids included), from the 1-minute rollup.
SELECT
    rule,
    sum(flows) AS flows,
    sum(packets) AS packets,
    sum(bytes) AS bytes
FROM flows_1m
ARRAY JOIN rules AS rule
WHERE $__timeFilter(bucket)
GROUP BY rule
HAVING flows != 0
ORDER BY flows DESC, rule
LIMIT 100
