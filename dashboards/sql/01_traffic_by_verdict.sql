-- title: Flows by verdict
-- panel: timeseries
-- width: 12
-- description: Flow records per verdict of the policy (accept, reject, unknown), from the 1-minute rollup.
SELECT
    toDateTime(intDiv(toUInt32(bucket), $__interval_s) * $__interval_s) AS time,
    toString(verdict) AS verdict,
    sum(flows) AS flows
FROM flows_1m
WHERE $__timeFilter(bucket)
GROUP BY time, verdict
HAVING flows != 0
ORDER BY time, verdict
