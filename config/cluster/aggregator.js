/*
 * tallyd config/cluster/aggregator.js — one aggregator behind `tallyd proxy` (README: "Cluster proxy").
 * Start one per node of the proxy's `nodes`, each with its own ports:
 *
 *   TALLYD_PORT=8127 TALLYD_MGMT_PORT=8128 TALLYD_NAME=agg1 tallyd config/cluster/aggregator.js
 */
{
  port: '${ENV:TALLYD_PORT}',
  address: '0.0.0.0',
  mgmt_port: '${ENV:TALLYD_MGMT_PORT}',
  mgmt_address: '0.0.0.0',          // the proxies health-check this port

  flushInterval: 10000,             // the same on every aggregator and proxy
  flushAlignment: 'clock',          // flush at wall-clock multiples of flushInterval
  deleteIdleStats: true,            // a key that moved away must not be written as 0 by its old node

  prefixStats: 'statsd.${ENV:TALLYD_NAME}',   // each aggregator's own counters under its own name

  backends: ['./backends/graphite'],
  graphiteHost: '127.0.0.1',        // carbon-c-relay
  graphitePort: 2003
}
