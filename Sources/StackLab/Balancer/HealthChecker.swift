import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// lb-01's active health checks: every `inter` (or `fastinter` while a server changes state, `downinter` while it is
/// DOWN), a TCP connect — or with `option httpchk` an HTTP request — to each server with `check`.
final class HealthChecker: Sendable {
    private let backend: BackendState
    private let runtime: ProcessRuntime
    private let timeoutCheck: Int?
    private let running = NIOLockedValueBox<[Scheduled<Void>]>([])
    private let generation = NIOLockedValueBox(0)

    init(backend: BackendState, runtime: ProcessRuntime, timeoutCheck: Int?) {
        self.backend = backend
        self.runtime = runtime
        self.timeoutCheck = timeoutCheck
    }

    func start() {
        let gen = generation.withLockedValue { value in
            value += 1
            return value
        }
        for (index, server) in backend.config.servers.enumerated() where server.check {
            // The first check runs at once, so a lab that starts with a dead server shows it DOWN quickly.
            schedule(index, after: .milliseconds(Int64(10 + index)), generation: gen)
        }
    }

    func stop() {
        generation.withLockedValue { $0 += 1 }
        let tasks = running.withLockedValue { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in tasks { task.cancel() }
    }

    private func schedule(_ index: Int, after delay: TimeAmount, generation gen: Int) {
        // A check that finishes after stop() (or after the lab's threads are gone) schedules nothing more.
        guard generation.withLockedValue({ $0 }) == gen else { return }
        let loop = runtime.group.next()
        let task = loop.scheduleTask(in: delay) { [self] in
            guard generation.withLockedValue({ $0 }) == gen else { return }
            // A frozen balancer checks nothing; it catches up when it is revived.
            guard runtime.state.isAlive else {
                schedule(index, after: .milliseconds(100), generation: gen)
                return
            }
            check(index, on: loop).whenComplete { _ in
                let server = self.backend.config.servers[index]
                let status = self.backend.servers[index].health
                let interval: Int
                if status.isChanging {
                    interval = server.fastinter ?? server.inter
                } else if !status.isUp {
                    interval = server.downinter ?? server.inter
                } else {
                    interval = server.inter
                }
                self.schedule(index, after: .milliseconds(Int64(interval)), generation: gen)
            }
        }
        running.withLockedValue { tasks in
            if tasks.count > 64 { tasks.removeFirst(tasks.count - 64) }
            tasks.append(task)
        }
    }

    private func check(_ index: Int, on loop: EventLoop) -> EventLoopFuture<Void> {
        let server = backend.config.servers[index]
        // Without `timeout check`, HAProxy uses `inter` as the check timeout.
        let timeout = timeoutCheck ?? server.inter
        let started = NIODeadline.now()
        let httpCheck = backend.config.httpCheck
        let result = UpstreamConnection.open(dialer: runtime.dialer, host: server.host, configuredPort: server.port, on: loop,
                                             connectTimeoutMilliseconds: timeout)
            .flatMap { connection -> EventLoopFuture<(CheckResult, String?)> in
                guard let httpCheck else {
                    connection.close()
                    return loop.makeSucceededFuture((.layer4OK, nil))
                }
                let version: HTTPVersion = httpCheck.version == "HTTP/1.1" ? .http1_1 : .http1_0
                var head = HTTPRequestHead(version: version, method: HTTPMethod(rawValue: httpCheck.method), uri: httpCheck.uri)
                if version == .http1_1 { head.headers.add(name: "Connection", value: "close") }
                let elapsed = Int((NIODeadline.now() - started).nanoseconds / 1_000_000)
                return connection.send(head: head, body: nil, readTimeoutMilliseconds: max(1, timeout - elapsed))
                    .map { response -> (CheckResult, String?) in
                        connection.close()
                        let code = Int(response.head.status.code)
                        if (200..<400).contains(code) { return (.layer7OK, "code: \(code)") }
                        return (.layer7WrongStatus, "code: \(code), info: \"\(response.head.status.reasonPhrase)\"")
                    }
                    .flatMapErrorThrowing { error in
                        connection.close()
                        switch error as? UpstreamError {
                        case .timedOut: return (.layer7Timeout, nil)
                        default: return (.layer7InvalidResponse, "info: \"Connection closed by peer\"")
                        }
                    }
            }
            .flatMapErrorThrowing { error -> (CheckResult, String?) in
                if case .connect(let dial) = error as? UpstreamError, dial == .timedOut { return (.layer4Timeout, nil) }
                if case .connect(let dial) = error as? UpstreamError { return (.layer4Connection, "info: \"\(dial)\"") }
                return (.layer4Connection, "info: \"\(error)\"")
            }
        return result.map { [self] result, detail in
            let duration = Int((NIODeadline.now() - started).nanoseconds / 1_000_000)
            report(index: index, result: result, detail: detail, duration: duration)
        }
    }

    private func report(index: Int, result: CheckResult, detail: String?, duration: Int) {
        guard runtime.state.isAlive else { return }
        let (transition, server, active, backup) = backend.record(result, server: index, duration: duration)
        guard let transition else { return }
        let pid = runtime.pid
        let what = detail.map { ", \($0)" } ?? ""
        let name = "\(backend.config.name)/\(server.name)"
        switch transition {
        case .wentDown:
            runtime.log.append("[WARNING]  (\(pid)) : Server \(name) is DOWN, reason: \(result.reason)\(what), check duration: \(duration)ms. "
                + "\(active) active and \(backup) backup servers left. \(server.currentSessions) sessions active, 0 requeued, 0 remaining in queue.")
            if active == 0 && backup == 0 {
                runtime.log.append("[ALERT]    (\(pid)) : backend \(backend.config.name) has no server available!")
            }
        case .wentUp:
            runtime.log.append("[WARNING]  (\(pid)) : Server \(name) is UP, reason: \(result.reason)\(what), check duration: \(duration)ms. "
                + "\(active) active and \(backup) backup servers online. 0 sessions requeued, 0 total in queue.")
        }
    }
}
