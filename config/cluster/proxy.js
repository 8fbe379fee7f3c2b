/*
 * tallyd proxy config/cluster/proxy.js — the proxy of the Graphite cluster recipe (README: "Cluster
 * proxy"). The original's proxy keys (exampleProxyConfig.js) plus tallyd's flushInterval and
 * flushAlignment, which must match the aggregators'. Run two or more of these behind a UDP load
 * balancer or DNS round robin; they reach the same ring on their own.
 */
{
  nodes: [
    { host: '127.0.0.1', port: 8127, adminport: 8128 },
    { host: '127.0.0.1', port: 8129, adminport: 8130 },
    { host: '127.0.0.1', port: 8131, adminport: 8132 }
  ],
  server: './servers/udp',
  host: '0.0.0.0',
  port: 8125,
  udp_version: 'udp4',
  mgmt_port: 8126,
  mgmt_address: '127.0.0.1',
  forkCount: 0,
  checkInterval: 1000,
  cacheSize: 10000,

  // tallyd's own
  mtu: 1432,
  flushInterval: 10000,
  flushAlignment: 'clock'
}
