/*
 * tallyd example configuration, in the original statsd's style.
 *
 * This is the same format as statsd's exampleConfig.js: a JavaScript object literal with comments,
 * unquoted keys, single or double quotes, trailing commas and the "leading comma" style. tallyd
 * reads it WITHOUT running it. Values that needed code in the original have placeholders instead:
 *
 *   ${HOSTNAME}        os.hostname()
 *   ${HOSTNAME_SHORT}  the host name up to the first '.'   (was: require('os').hostname().split('.')[0])
 *   ${ENV:NAME}        the environment variable NAME (missing: a config error naming the key)
 *   $${                a literal '${'
 *
 * A placeholder may stand for a whole number value too: mgmt_port: '${ENV:ADMIN_PORT}'.
 * Files that must keep their code can be run as the original does with --allow-js-config
 * (node:vm, `require` limited to 'os').
 *
 * Check a file with:   tallyd --check-config config/example.js
 * Every key is optional; the defaults are shown in [brackets].
 */
{
  /* ---- Listening ------------------------------------------------------------------------ */

  // Without `servers`, these three make one UDP server, as in the original.
  port: 8125                      // UDP port [8125]
, address: '0.0.0.0'              // address to bind [0.0.0.0; '::' when address_ipv6]
, address_ipv6: false             // bind an IPv6 socket [false]

  // Or list the servers. server: 'udp' | 'tcp' | './servers/udp' | './servers/tcp' [udp].
  // tcp servers may listen on a Unix stream socket instead: socket (path), socket_mod (e.g. 0o660).
//, servers: [
//    { server: './servers/udp', address: '0.0.0.0', port: 8125 }
//  , { server: './servers/tcp', address: '0.0.0.0', port: 8125 }
//  , { server: './servers/tcp', socket: '/run/tallyd/statsd.sock', socket_mod: '660' }
//  ]

, udpRecvBuffer: 33554432         // tallyd: requested SO_RCVBUF per UDP server, bytes [32 MiB]
                                  // (the kernel caps it at net.core.rmem_max; the granted size is logged)
, tcpMaxLineLength: 65536         // tallyd: longest accepted TCP line, bytes [65536]

  /* ---- Admin interface (the original's management console: stats, counters, config, ...) - */

, mgmt_port: 8126                 // [8126]
, mgmt_address: '127.0.0.1'       // [127.0.0.1] -- the original binds 0.0.0.0; say so here to match it

  /* ---- Aggregation ----------------------------------------------------------------------- */

, flushInterval: 10000            // ms between flushes [10000]
, flushAlignment: 'startup'       // tallyd: 'clock' flushes at wall-clock multiples of flushInterval (behind `tallyd proxy`) ['startup']
, percentThreshold: [ 90, 99 ]    // timer percentiles: a number or a list; negative = "top" N% [90]
, flush_counts: true              // also send stats_counts / .count for counters [true]
, calculatedTimerMetrics: [ 'count', 'count_ps', 'lower', 'mean', 'median', 'std', 'sum',
    'sum_squares', 'upper', 'mean_percent', 'upper_percent', 'sum_percent', 'histogram' ]
                                  // timer metrics to send [all]; '<name>_percent' = per percentile
, histogram: [                    // per-timer histograms, first match wins ('inf' = +infinity) [none]
    { metric: 'render', bins: [ 0.01, 0.1, 1, 10, 'inf' ] }
  ]
, reservoirSize: 1024             // tallyd: timer samples kept per key per interval [1024]

  // Idle metrics. deleteIdleStats sets the default of the four below [false].
, deleteIdleStats: false
//, deleteCounters: true          // don't send 0 for idle counters
//, deleteTimers: true            // don't send idle timers
//, deleteGauges: true            // stop sending a gauge that was not updated ...
//, gaugesMaxTTL: 3               // ... for this many flushes (an integer > 1, else 1) [1]
//, deleteSets: true

, prefixStats: 'statsd'           // prefix of the daemon's own metrics [statsd]
, keyNameSanitize: true           // clean metric names on input [true]

  /* ---- Backends ------------------------------------------------------------------------- */

  // [['graphite'] when graphiteHost is set, else ['console']]
  // 'graphite', 'console', 'repeater', 'prometheus'; './backends/graphite' works too.
, backends: [ './backends/graphite' ]

, graphiteHost: '127.0.0.1'       // Graphite's plaintext receiver (carbon) [unset: nothing sent]
, graphitePort: 2003              // [2003]
, graphite: {
    legacyNamespace: true         // stats.<key>, stats_counts.<key>, stats.timers... [true]
  , globalPrefix: 'stats'         // used when legacyNamespace is false [stats]
  , prefixCounter: 'counters'     // [counters]
  , prefixTimer: 'timers'         // [timers]
  , prefixGauge: 'gauges'         // [gauges]
  , prefixSet: 'sets'             // [sets]
  , globalSuffix: '${HOSTNAME_SHORT}'  // appended to every name [''] (original: require('os')...)
  , timeoutMs: 5000               // tallyd: connect + write timeout per flush, ms [5000]
  }

, console: {
    prettyprint: true             // the console backend's output [true]
  }

  // The repeater backend sends every received packet on to other statsd servers.
, repeater: [ { host: '10.0.0.2', port: 8125 } ]
, repeaterProtocol: 'udp4'        // 'udp4' or 'udp6' [udp4]

  // The prometheus backend reads its own section (see its documentation).
//, prometheus: { }

  /* ---- Operations ----------------------------------------------------------------------- */

, healthStatus: 'up'              // initial answer of the admin `health` command [up]
, automaticConfigReload: true     // [true]
, dumpMessages: false             // log every received line (debug level) [false]
, debug: false                    // debug logging, unless logLevel is set [false]
, logLevel: 'info'                // tallyd: trace, debug, info, warn, error, fatal, silent [info]
, keyFlush: {                     // log the most frequently sent keys
    interval: 0                   // ms; 0 = off [0]
  , percent: 100                  // share of the keys to log [100]
//, log: '/var/log/tallyd-keys.log'   // [stdout]
  }
  // Accepted for compatibility: title (ignored), log: { backend, application, level }
  // (log.level sets the level when it is a pino level or a syslog LOG_* name).
}
