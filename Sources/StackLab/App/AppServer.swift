import Foundation
import NIOCore
import NIOHTTP1

/// web-0N/gunicorn: the app server. A master ("arbiter") and `workers` sync workers running the foobar app; one
/// request per worker at a time, the rest queue; a worker past `timeout` is killed. Like gunicorn's sync worker it
/// closes the connection after each response, and it writes an access log only when `accesslog` is set.
public final class AppServer: LabProcess {
    public let kind = Topology.ProcessKind.gunicorn
    public let runtime: ProcessRuntime
    public let config: GunicornConfig
    public let app: FoobarApp
    private let pool: WorkerPool
    let accessLog: LogBook?

    public init(config: GunicornConfig, runtime: ProcessRuntime, app: FoobarApp, accessLog: LogBook?) {
        self.config = config
        self.runtime = runtime
        self.app = app
        self.accessLog = accessLog
        self.pool = WorkerPool(runtime: runtime, timeoutSeconds: config.timeout)
    }

    public var workerPIDs: [Int] { pool.workerPIDs }
    public var busyWorkers: Int { pool.busyWorkers }
    public var queuedRequests: Int { pool.queued }

    private func log(_ level: String, _ message: String, pid: Int? = nil) {
        runtime.log.append("[\(LogTime.gunicorn())] [\(pid ?? runtime.pid)] [\(level)] \(message)")
    }

    /// A worker's own warning (`Invalid request from ip=…`), with that worker's pid.
    func logWarning(_ message: String) { log("WARNING", message, pid: pool.workerPIDs.first) }
    func logError(_ message: String) { log("ERROR", message, pid: pool.workerPIDs.first) }

    /// A client too slow to send its request held a worker past `timeout`: the arbiter kills that worker.
    func workerTimedOutReading() { pool.killReadingWorker() }

    public func start() async throws {
        let responder = AppResponder(server: self)
        // A sync worker serves one connection at a time: more wait in the listen queue (`backlog`).
        let budget = ConnectionBudget(limit: max(1, config.workers), policy: .pauseAccepting)
        let limits = GunicornConnectionPolicy.limits(for: config).frozen(with: runtime.faults)
        let policy = GunicornConnectionPolicy(app: self)
        do {
            try await runtime.listen(host: config.bindHost, configuredPort: config.bindPort, delaysReads: false, budgets: [budget],
                                     backlog: config.backlog) { channel in
                HTTPServerHandler.install(on: channel, responder: responder, serverHeader: "gunicorn", limits: limits, policy: policy,
                                          budget: budget)
            }
        } catch {
            await runtime.abandonListeners()
            throw error
        }
        log("INFO", "Starting gunicorn 23.0.0")
        log("INFO", "Listening at: http://\(config.bindHost):\(runtime.network.port(config.bindPort)) (\(runtime.pid))")
        log("INFO", "Using worker: sync")
        pool.boot(count: config.workers) { message in
            // Each worker logs its own boot line with its own pid.
            let pid = Int(message.split(separator: " ").last ?? "") ?? runtime.pid
            log("INFO", message, pid: pid)
        }
        runtime.markRunning()
    }

    public func halt(graceful: Bool) async {
        let pids = pool.shutdown()
        if graceful {
            log("INFO", "Handling signal: term")
            for pid in pids { log("INFO", "Worker exiting (pid: \(pid))", pid: pid) }
            log("INFO", "Shutting down: Master")
        }
    }

    fileprivate func handle(_ request: IncomingRequest) -> EventLoopFuture<ServerResponse> {
        runtime.requests.wrappingIncrement(ordering: .relaxed)
        let incoming = TraceContext(traceparent: request.head.headers.first(name: "traceparent"))
        let trace = incoming?.child() ?? TraceContext.new()
        let app = self.app
        let faults = runtime.faults
        return pool.submit(on: request.eventLoop) { _ in
            // `slow` makes the worker itself slow: it stays busy, so requests queue behind it.
            let delay = faults.slowMilliseconds
            if delay > 0 {
                return request.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) {}.futureResult.flatMap { app.handle(request, trace: trace) }
            }
            return app.handle(request, trace: trace)
        }
        .map { [self] response in
            var response = response
            response.close = true   // sync workers do not keep connections alive
            guard !response.abort else { return response }
            let status = Int(response.status.code)
            if status >= 500 { runtime.errors.wrappingIncrement(ordering: .relaxed) }
            runtime.metrics.routes.record(method: request.head.method, uri: request.head.uri, status: status,
                                          seconds: Double((NIODeadline.now() - request.received).nanoseconds) / 1e9)
            // gunicorn's default access_log_format, `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`,
            // writes nginx's combined line.
            accessLog?.append(request.combinedLogLine(status: status, bytes: response.bodyBytes))
            runtime.traces.record(Span(traceID: trace.traceID, spanID: trace.spanID, parentID: incoming?.spanID, process: runtime.name,
                                       start: request.receivedDate, duration: request.spanDuration,
                                       status: status, note: "\(request.head.method.rawValue) \(request.head.uri)"))
            return response
        }
    }
}

private struct AppResponder: HTTPResponder {
    let server: AppServer
    func respond(to request: IncomingRequest) -> EventLoopFuture<ServerResponse> { server.handle(request) }
}
