-- title: Flows by finding
-- panel: timeseries
-- width: 12
-- description: Flow records per finding (none when the log and the policy agree), from the 1-minute rollup.
SELECT
    toDateTime(intDiv(toUInt32(bucket), $__interval_s) * $__interval_s) AS time,
    if(finding = '', 'none', finding) AS finding,
    sum(flows) AS flows
FROM flows_1m
WHERE $__timeFilter(bucket)
GROUP BY time, finding
HAVING flows != 0
ORDER BY time, finding
