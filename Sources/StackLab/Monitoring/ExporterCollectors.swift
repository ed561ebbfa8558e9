import Foundation
import StackLabStore

// What each process puts in its registry at scrape time, named as the real exporters name it.

extension Balancer: MetricsSource {
    /// HAProxy's built-in Prometheus exporter (`haproxy_backend_*`, `haproxy_server_*`; labels `proxy`, `server`,
    /// `state`, `code`). There is no `haproxy_server_up` in HAProxy: a server's state is `haproxy_server_status`
    /// with one series per state, 1 for the current one.
    public func collectMetrics(into metrics: ProcessMetrics) {
        let now = Date()
        let statuses = serverStatuses
        metrics.gauge("haproxy_process_current_connections", "Number of active sessions.", [], runtime.openConnections)
        metrics.counter("haproxy_process_requests_total", "Total number of requests (TCP or HTTP).", [], runtime.requests.load(ordering: .relaxed))
        for backend in config.backends {
            let servers = statuses.filter { $0.backend == backend.name }
            let proxy = [("proxy", backend.name)]
            let active = servers.filter { !$0.backup && $0.isUp }.count
            let backup = servers.filter { $0.backup && $0.isUp }.count
            for state in ["DOWN", "UP"] {
                let isUp = active + backup > 0
                metrics.gauge("haproxy_backend_status", "Current status of the service.", proxy + [("state", state)],
                              (state == "UP") == isUp ? 1 : 0)
            }
            metrics.gauge("haproxy_backend_active_servers", "Current number of active servers.", proxy, active)
            metrics.gauge("haproxy_backend_backup_servers", "Current number of backup servers.", proxy, backup)
            metrics.gauge("haproxy_backend_current_sessions", "Number of current sessions on the frontend, backend or server.", proxy,
                          servers.reduce(0) { $0 + $1.currentSessions })
            metrics.counter("haproxy_backend_sessions_total", "Total number of sessions.", proxy, servers.reduce(0) { $0 + $1.totalSessions })
            metrics.counter("haproxy_backend_connection_errors_total", "Total number of failed connections to server.", proxy,
                            servers.reduce(0) { $0 + $1.connectionErrors })
            metrics.counter("haproxy_backend_response_errors_total", "Total number of invalid responses.", proxy,
                            servers.reduce(0) { $0 + $1.responseErrors })
            metrics.counter("haproxy_backend_retry_warnings_total", "Total number of server connection retries.", proxy,
                            servers.reduce(0) { $0 + $1.retries })
            metrics.counter("haproxy_backend_redispatch_warnings_total", "Total number of server redispatches due to connection failures.",
                            proxy, servers.reduce(0) { $0 + $1.redispatches })
            let responses = responses(backend: backend.name)
            for (index, code) in ["1xx", "2xx", "3xx", "4xx", "5xx"].enumerated() {
                metrics.counter("haproxy_backend_http_responses_total", "Total number of HTTP responses with status 100-199, 200-299, 300-399, 400-499, 500-599 and other.",
                                proxy + [("code", code)], responses[index + 1] ?? 0)
            }
            let other = responses.filter { !(1...5).contains($0.key) }.values.reduce(0, +)
            metrics.counter("haproxy_backend_http_responses_total", "Total number of HTTP responses with status 100-199, 200-299, 300-399, 400-499, 500-599 and other.",
                            proxy + [("code", "other")], other)
            for server in servers {
                let labels = [("proxy", backend.name), ("server", server.name)]
                let current = Self.exporterState(server)
                for state in ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"] {
                    metrics.gauge("haproxy_server_status", "Current status of the service.", labels + [("state", state)], state == current ? 1 : 0)
                }
                metrics.gauge("haproxy_server_weight", "Service weight.", labels, server.weight)
                metrics.gauge("haproxy_server_current_sessions", "Number of current sessions on the frontend, backend or server.", labels,
                              server.currentSessions)
                metrics.counter("haproxy_server_sessions_total", "Total number of sessions.", labels, server.totalSessions)
                metrics.counter("haproxy_server_connection_errors_total", "Total number of failed connections to server.", labels,
                                server.connectionErrors)
                metrics.counter("haproxy_server_response_errors_total", "Total number of invalid responses.", labels, server.responseErrors)
                metrics.counter("haproxy_server_retry_warnings_total", "Total number of server connection retries.", labels, server.retries)
                metrics.counter("haproxy_server_redispatch_warnings_total", "Total number of server redispatches due to connection failures.",
                                labels, server.redispatches)
                metrics.counter("haproxy_server_check_failures_total", "Total number of failed individual health checks.", labels,
                                server.checkFailures)
                metrics.counter("haproxy_server_check_up_down_total", "Total number of failed checks causing UP to DOWN server transitions.",
                                labels, server.downTransitions)
                metrics.gauge("haproxy_server_check_last_change_seconds", "Number of seconds since the last UP<->DOWN transition.", labels,
                              now.timeIntervalSince(server.lastChange).rounded(.down))
            }
        }
    }

    /// The exporter's state word: a server walking down (`UP 1/3`) is still UP, one coming back (`DOWN 1/2`) still DOWN.
    static func exporterState(_ server: BackendServerStatus) -> String {
        server.isUp ? "UP" : "DOWN"
    }
}

extension WebServer: MetricsSource {
    /// nginx-prometheus-exporter's metrics from stub_status, named, typed and ordered as it writes them (its
    /// registry sorts by name): `Active connections` and `Reading`/`Writing`/`Waiting` as gauges, `accepts` and
    /// `handled` as the counters `nginx_connections_accepted` and `nginx_connections_handled` — without the `_total`
    /// that promtool asks of a counter, so `promtool check metrics` says so of this page as it does of the real one.
    /// (The real exporter's own scrape is one of nginx's connections, writing; the lab's exporter reads the counts
    /// directly, so an idle nginx shows 0.)
    public func collectMetrics(into metrics: ProcessMetrics) {
        let metricsPort = runtime.network.port(MetricsEndpoint.configuredPort(for: kind))
        let listeners = runtime.listeners.filter { $0.port != metricsPort }
        let active = listeners.reduce(0) { $0 + $1.openConnections }
        let accepted = listeners.reduce(0) { $0 + $1.acceptedConnections }
        let states = connectionStates
        metrics.counter("nginx_connections_accepted", "Accepted client connections", [], accepted)
        metrics.gauge("nginx_connections_active", "Active client connections", [], active)
        metrics.counter("nginx_connections_handled", "Handled client connections", [], accepted)
        metrics.gauge("nginx_connections_reading", "Connections where NGINX is reading the request header", [], min(states.reading, active))
        metrics.gauge("nginx_connections_waiting", "Idle client connections", [], states.waiting(active: active))
        metrics.gauge("nginx_connections_writing", "Connections where NGINX is writing the response back to the client", [],
                      min(states.writing, active))
        metrics.counter("nginx_http_requests_total", "Total http requests", [], runtime.requests.load(ordering: .relaxed))
        metrics.gauge("nginx_up", "Status of the last metric scrape", [], state.isAlive ? 1 : 0)
    }
}

extension AppServer: MetricsSource {
    /// gunicorn's statsd metrics (through statsd_exporter) and the foobar app's prometheus_flask_exporter metrics.
    public func collectMetrics(into metrics: ProcessMetrics) {
        metrics.gauge("gunicorn_workers", "Number of workers managed by the arbiter", [], workerPIDs.count)
        metrics.gauge("gunicorn_workers_busy", "Workers handling a request now", [], busyWorkers)
        metrics.gauge("gunicorn_requests_queued", "Requests waiting for a free worker", [], queuedRequests)
        metrics.counter("gunicorn_requests_total", "Requests received by the arbiter", [], runtime.requests.load(ordering: .relaxed))
        metrics.counter("gunicorn_request_errors_total", "Requests answered with status 500-599", [], runtime.errors.load(ordering: .relaxed))
        for row in metrics.routes.statusTotals() {
            metrics.counter("flask_http_request_total", "Total number of HTTP requests", [("method", row.method), ("status", row.status)], row.count)
        }
    }
}

extension StoreProcess: MetricsSource {
    /// mysqld_exporter's names. Global status values are `untyped` in mysqld_exporter; they are gauges here (the
    /// client library has no untyped metrics, and `promtool` rejects counters without `_total`). Replication follows
    /// the exporter on MySQL 8 (`SHOW REPLICA STATUS` columns under the `mysql_slave_status_` prefix); a NULL
    /// `Seconds_Behind_Source` gives no sample, as in the exporter.
    public func collectMetrics(into metrics: ProcessMetrics) {
        guard let store else {
            metrics.gauge("mysql_up", "Whether the MySQL server is up.", [], 0)
            return
        }
        let status = store.status
        let (questions, startedAt) = store.questionsAndStart
        metrics.gauge("mysql_up", "Whether the MySQL server is up.", [], status.running ? 1 : 0)
        metrics.gauge("mysql_global_status_queries", "Generic metric from SHOW GLOBAL STATUS.", [], questions)
        metrics.gauge("mysql_global_status_questions", "Generic metric from SHOW GLOBAL STATUS.", [], questions)
        metrics.gauge("mysql_global_status_threads_connected", "Generic metric from SHOW GLOBAL STATUS.", [], status.connections)
        metrics.gauge("mysql_global_status_uptime", "Generic metric from SHOW GLOBAL STATUS.", [], Date().timeIntervalSince(startedAt).rounded(.down))
        metrics.gauge("mysql_global_variables_read_only", "Generic gauge metric from SHOW GLOBAL VARIABLES.", [], status.readOnly ? 1 : 0)
        metrics.gauge("mysql_global_variables_super_read_only", "Generic gauge metric from SHOW GLOBAL VARIABLES.", [], status.superReadOnly ? 1 : 0)
        if let position = status.binlogPosition {
            metrics.gauge("mysql_binlog_position", "Position of the current binary log (SHOW BINARY LOG STATUS).", [], Double(position))
        }
        guard let replica = status.replica else { return }
        let labels = [("channel_name", ""), ("connection_name", ""), ("master_host", replica.sourceHost), ("master_uuid", replica.sourceUUID)]
        metrics.gauge("mysql_slave_status_replica_io_running", "Generic metric from SHOW REPLICA STATUS.", labels,
                      replica.ioRunning == .yes ? 1 : 0)
        metrics.gauge("mysql_slave_status_replica_sql_running", "Generic metric from SHOW REPLICA STATUS.", labels, replica.sqlRunning ? 1 : 0)
        if let lag = replica.secondsBehindSource {
            metrics.gauge("mysql_slave_status_seconds_behind_source", "Generic metric from SHOW REPLICA STATUS.", labels, lag)
        }
    }
}
