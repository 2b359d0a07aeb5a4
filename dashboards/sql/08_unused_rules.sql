-- title: Rules without hits in the range (hit before)
-- panel: table
-- width: 24
-- description: Rules that decided records before the range and none in it, with their last hour with a hit. The store keeps hits, not the policy: rules never hit at all need flowsift report --policy.
SELECT
    rule,
    max(bucket) AS last_hit_hour,
    sum(flows) AS flows_before
FROM flows_1h
ARRAY JOIN rules AS rule
WHERE bucket < $__fromTime
GROUP BY rule
HAVING flows_before != 0 AND rule NOT IN (
    SELECT rule FROM (
        SELECT rule, sum(flows) AS f
        FROM flows_1h
        ARRAY JOIN rules AS rule
        WHERE $__timeFilter(bucket)
        GROUP BY rule
    ) WHERE f != 0
)
ORDER BY last_hit_hour, rule
