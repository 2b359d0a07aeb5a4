// Package load owns reading several --policy files into one policy.Set:
// it detects each file's kind by content (AWS CLI outputs, Alibaba Cloud API
// responses, Elastic Cloud rule sets, bindings YAML, elasticsearch.yml,
// flowsift's native YAML), merges files of one kind (pagination, regions)
// and builds the neutral model. It leaves the meaning of each provider's
// fields to the provider packages.
package load
