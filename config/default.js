/*
 * tallyd's embedded default configuration, used when no config file is given.
 * (src/config/defaults.ts holds the same values as EMBEDDED_DEFAULT_CONFIG; a unit test checks that
 * the two agree.) StatsD over UDP on 0.0.0.0:8125, the admin interface on 127.0.0.1:8126 only,
 * metrics printed by the console backend every 10 seconds.
 */
{
  port: 8125
, address: '0.0.0.0'
, mgmt_port: 8126
, mgmt_address: '127.0.0.1'
, flushInterval: 10000
, backends: [ './backends/console' ]
}
