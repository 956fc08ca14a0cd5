// Package storetest holds the tests and benchmarks that the durable
// stores (sqlstore, redisstore) run alike beyond synclayertest's suites:
// each store's test calls them with what differs, its server and how to
// break it. Only tests import it; it imports only the standard library,
// synclayer and synclayertest.
package storetest
