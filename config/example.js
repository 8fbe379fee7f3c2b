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
 * (in a separate, permission-restricted Node process killed after 5 s; `require` limited to 'os').
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
, server: 'udp'                   // the kind of that one server: 'udp', 'tcp', './servers/tcp', or a module [udp]

  // Or list the servers. server: 'udp' | 'tcp' | './servers/udp' | './servers/tcp' [udp], or a server
  // module of the original's interface ('./my-server.js'; its entry is its config).
  // tcp servers may listen on a Unix stream socket instead: socket (path), socket_mod (e.g. 0o660).
  // (with `servers` set, port/address/address_ipv6/server above are ignored, with a warning)
//, servers: [
//    { server: './servers/udp', address: '0.0.0.0', port: 8125 }
//  , { server: './servers/tcp', address: '0.0.0.0', port: 8125 }
//  , { server: './servers/tcp', socket: '/run/tallyd/statsd.sock', socket_mod: '660' }
//  , { server: 'tcp', port: 8127, max_connections: 50, idle_timeout: 60000 }  // this server's own limits
//  ]

, udpReader: 'native'            // tallyd: 'native' (recvmmsg batches, Linux) or 'dgram' [native]
, workers: 1                      // tallyd: ingest processes; N > 1 forks N cluster workers [1]
, workerPacketForwardBytes: 4194304 // tallyd: with workers > 1, bytes of packets a worker may queue to the
                                  // primary for npm backends' 'packet' events; past it dropped, counted [4 MiB]
, udpRecvBuffer: 33554432         // tallyd: requested SO_RCVBUF per UDP server, bytes [32 MiB]
                                  // (the kernel caps it at net.core.rmem_max; the granted size is logged)
, tcpMaxLineLength: 65536         // tallyd: longest accepted TCP line, bytes [65536]
, tcpMaxConnections: 1000         // tallyd: most open connections per TCP server; more are closed at once [1000]
, tcpIdleTimeout: 300000          // tallyd: ms without a byte before a TCP connection is closed; 0: never [300000]

  /* ---- Admin interface (the original's management console: stats, counters, config, ...) - */

, mgmt_port: 8126                 // [8126]
, mgmt_address: '127.0.0.1'       // [127.0.0.1] -- the original binds 0.0.0.0; say so here to match it
, mgmtMaxConnections: 16          // tallyd: most open admin connections; more are closed at once [16]
, mgmtIdleTimeout: 600000         // tallyd: ms without a byte before an admin connection is closed; 0: never [600000]

  /* ---- Aggregation ----------------------------------------------------------------------- */

, flushInterval: 10000            // ms between flushes [10000]
, flushAlignment: 'startup'       // tallyd: 'startup' (start + k x interval, the original's) or 'clock' (wall-clock multiples of flushInterval, behind `tallyd proxy`) [startup]
, percentThreshold: [ 90, 99 ]    // timer percentiles: a number or a list (at most 100); negative = "top" N% [90]
, flush_counts: true              // also send stats_counts / .count for counters [true]
, calculatedTimerMetrics: [ 'count', 'count_ps', 'lower', 'mean', 'median', 'std', 'sum',
    'sum_squares', 'upper', 'mean_percent', 'upper_percent', 'sum_percent', 'histogram' ]
                                  // timer metrics to send [all]; '<name>_percent' = per percentile
, histogram: [                    // per-timer histograms, first match wins ('inf' = +infinity) [none]
    { metric: 'render', bins: [ 0.01, 0.1, 1, 10, 'inf' ] }
  ]
, reservoirSize: 1024             // tallyd: timer samples kept per key per interval [1024]
, timerHistogram: true            // tallyd: an exponential histogram per timer (exact-count quantiles) [true]
, timerHistogramMaxBuckets: 2048  // tallyd: its buckets per timer (32..16384) [2048]

  // Idle metrics. deleteIdleStats sets the default of the four below [false].
, deleteIdleStats: false
, deleteCounters: false           // true: don't send 0 for idle counters [deleteIdleStats]
, deleteTimers: false             // true: don't send idle timers [deleteIdleStats]
, deleteGauges: false             // true: stop sending a gauge that was not updated ... [deleteIdleStats]
, gaugesMaxTTL: 1                 // ... for this many flushes (an integer > 1, else 1) [1]
, deleteSets: false               // true: don't send idle sets [deleteIdleStats]

, prefixStats: 'statsd'           // prefix of the daemon's own metrics [statsd]
, keyNameSanitize: true           // clean metric names on input [true]
, dogstatsdContainerIdTag: false  // tallyd: DogStatsD `|c:<id>` becomes the tag container_id [false]

  /* ---- Bounds (tallyd): what a sender controls has a limit; what goes past is counted --- */

, maxKeys: 2000000                // live keys; lines for new keys past it are dropped, counted [2000000]
, idleKeyTtl: 0                   // forget a key idle for this many flushes; 0: never [0]
, maxKeyLength: 2048              // longest key (with tags) or set member, bytes [2048]
, keyTableBytes: 1073741824       // bytes of key names held [1 GiB]
, setMaxMembers: 100000           // members per set per interval [100000]
, stopDrainMs: 5000               // on SIGTERM/SIGINT, ms given to backends for the final flush [5000]

  /* ---- Backends ------------------------------------------------------------------------- */

  // [['graphite'] when graphiteHost is set, else ['console']]
  // 'graphite', 'console', 'repeater', 'prometheus'; './backends/graphite' works too.
, backends: [ './backends/graphite', 'prometheus' ]

, graphiteHost: '127.0.0.1'       // Graphite's plaintext receiver (carbon) [unset: nothing sent]
, graphitePort: 2003              // [2003]
, graphiteProtocol: 'text'        // 'text', or 'pickle' to send carbon's pickle to graphitePicklePort [text]
, graphitePicklePort: 2004        // [2004]
, graphite: {
    legacyNamespace: true         // stats.<key>, stats_counts.<key>, stats.timers... [true]
  , globalPrefix: 'stats'         // used when legacyNamespace is false [stats]
  , prefixCounter: 'counters'     // [counters]
  , prefixTimer: 'timers'         // [timers]
  , prefixGauge: 'gauges'         // [gauges]
  , prefixSet: 'sets'             // [sets]
  , globalSuffix: '${HOSTNAME_SHORT}'  // appended to every name [''] (original: require('os')...)
  , timeoutMs: 5000               // tallyd: connect + write timeout per flush, ms [5000]
  , queueBytes: 67108864          // tallyd: flushes kept while Graphite is down, bytes [64 MiB]
  }

, console: {
    prettyprint: true             // the console backend's output [true]
  }

  // The repeater backend sends every received packet on to other statsd servers.
, repeater: [ ]                  // targets, e.g. [ { host: '10.0.0.2', port: 8125 } ]; needs 'repeater' in backends
, repeaterProtocol: 'udp4'        // 'udp4', 'udp6' or 'tcp' [udp4]
, repeaterQueueBytes: 16777216    // tallyd: tcp only, bytes queued per target while it is down [16 MiB]

  // The prometheus backend (needs 'prometheus' in backends; any --prometheus-* flag adds it).
, prometheus: {
    address: '127.0.0.1'          // /metrics address; '0.0.0.0' to be scraped from other hosts [127.0.0.1]
  , port: 9102                    // [9102]
  , path: '/metrics'              // [/metrics]
//, mappingFile: 'config/mapping.example.yaml'   // a statsd_exporter mapping file [none]
  , ttl: 3600                     // seconds (or '1h') a series may stay idle; 0: never [3600]
  , quantiles: [ 0.5, 0.9, 0.99 ] // summary quantiles [0.5, 0.9, 0.99]
  , buckets: [ 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 ]  // histogram buckets, seconds
  , observerType: 'summary'       // timers become 'summary' or 'histogram' [summary]
  , maxExpositionBytes: 134217728 // largest /metrics answer, bytes [128 MiB]
  }

  // The live status page (and its JSON API), on by default on 127.0.0.1.
, statusPage: {
    enabled: true                 // [true]
  , address: '127.0.0.1'          // any other address needs a token [127.0.0.1]
  , port: 8127                    // [8127]
//, token: '${ENV:TALLYD_STATUS_TOKEN}'   // at least 16 characters [none]
  }

  /* ---- Operations ----------------------------------------------------------------------- */

, healthStatus: 'up'              // initial answer of the admin `health` command [up]
, automaticConfigReload: true     // [true]
, dumpMessages: false             // log every received line (debug level) [false]
, debug: false                    // debug logging, unless logLevel is set [false]
, debugInterval: 10000            // accepted for compatibility (the original's debug dump) [10000]
, logLevel: 'info'                // tallyd: trace, debug, info, warn, error, fatal, silent [info]
, keyFlush: {                     // log the most frequently sent keys
    interval: 0                   // ms; 0 = off [0]
  , percent: 100                  // share of the keys to log [100]
//, log: '/var/log/tallyd-keys.log'   // [stdout]
  }
, title: 'tallyd'                // the process title ('statsd' for scripts that look for it); false leaves Node's [tallyd]
, log: {                          // where logs go [stderr, in --log-format]
    backend: 'stdout'             // 'stdout' (stderr) or 'syslog' [stdout]
  , application: 'statsd'         // the syslog APP-NAME [statsd]
  , level: 'info'                 // a pino level or a syslog LOG_* name (logLevel wins)
  , syslog: { protocol: 'udp', host: '127.0.0.1', port: 514 }  // tallyd: [/dev/log if it exists, else udp 127.0.0.1:514]
                                  // or dgram: '/dev/log' (a Unix datagram socket, the local syslog's),
                                  // or socket: '/run/syslog.sock' (a Unix stream socket)
  }

  // Any other name in `backends` is an npm backend or a backend file (the original's interface),
  // e.g. backends: ['./backends/graphite', 'statsd-influxdb-backend'], with its own section:
//, influxdb: { host: '127.0.0.1', port: 8086, version: 0.9, database: 'metrics' }
}
