/*
 * The container image's configuration (Dockerfile's CMD). Inside a container, 127.0.0.1 cannot be
 * reached from outside, so StatsD, the admin interface and Prometheus /metrics listen on 0.0.0.0;
 * publish only the ports you need (docker run -p 8125:8125/udp -p 9102:9102 ...). The admin
 * interface has no authentication: publish 8126 only on a trusted network. The status page (8127)
 * needs a token off loopback: pass it as -e TALLYD_STATUS_TOKEN=<at least 16 characters>.
 *
 * Graphite is off by default in the image; mount your own config, or start from this one and add
 *   , graphiteHost: 'graphite.example.net', backends: [ 'graphite', 'prometheus' ]
 */
{
  port: 8125
, address: '0.0.0.0'
, mgmt_port: 8126
, mgmt_address: '0.0.0.0'
, flushInterval: 10000
, backends: [ 'prometheus' ]
, prometheus: { address: '0.0.0.0', port: 9102 }
, statusPage: { address: '0.0.0.0', port: 8127, token: '${ENV:TALLYD_STATUS_TOKEN}' }
}
