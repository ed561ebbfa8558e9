import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// gunicorn's sync workers: each handles one request at a time; when all are busy, requests wait in the queue
/// (the listen backlog); a worker still busy after `timeout` seconds is killed by the arbiter (`WORKER TIMEOUT`)
/// — its client's connection closes with no answer — and a new worker boots in its place.
final class WorkerPool: Sendable {
    typealias Work = @Sendable (_ worker: Int) -> EventLoopFuture<ServerResponse>

    struct Job: Sendable {
        var loop: EventLoop
        var promise: EventLoopPromise<ServerResponse>
        var work: Work
    }

    private struct Worker {
        var pid: Int
        var job: Job?
        var jobNumber = 0
        /// When the job in hand is past `timeout`.
        var deadline: NIODeadline?
        /// The arbiter's look at this worker, and when it is due: one task serves job after job (moved on when it
        /// fires before the deadline then in force) rather than a schedule and a cancel for every request.
        var timer: Scheduled<Void>?
        var timerDue: NIODeadline?
    }

    private struct Box {
        var workers: [Worker] = []
        var queue: [Job] = []
        var queueHead = 0
        var stopped = false
    }

    private let runtime: ProcessRuntime
    private let timeoutSeconds: Int
    private let box = NIOLockedValueBox(Box())

    init(runtime: ProcessRuntime, timeoutSeconds: Int) {
        self.runtime = runtime
        self.timeoutSeconds = timeoutSeconds
    }

    /// Boots `count` workers (`Booting worker with pid: N` each).
    func boot(count: Int, log: (String) -> Void) {
        let pids = (0..<max(1, count)).map { _ in runtime.nextPID() }
        box.withLockedValue { box in
            box.workers = pids.map { Worker(pid: $0) }
            box.queue.removeAll()
            box.queueHead = 0
            box.stopped = false
        }
        for pid in pids { log("Booting worker with pid: \(pid)") }
    }

    var workerPIDs: [Int] { box.withLockedValue { $0.workers.map(\.pid) } }
    var busyWorkers: Int { box.withLockedValue { $0.workers.filter { $0.job != nil }.count } }
    var queued: Int { box.withLockedValue { $0.queue.count - $0.queueHead } }

    func submit(on loop: EventLoop, _ work: @escaping Work) -> EventLoopFuture<ServerResponse> {
        let promise = loop.makePromise(of: ServerResponse.self)
        let job = Job(loop: loop, promise: promise, work: work)
        let start: (Int, Int)? = box.withLockedValue { box in
            if box.stopped { return nil }
            if let free = box.workers.firstIndex(where: { $0.job == nil }) {
                box.workers[free].job = job
                box.workers[free].jobNumber += 1
                return (free, box.workers[free].jobNumber)
            }
            box.queue.append(job)
            return nil
        }
        if box.withLockedValue({ $0.stopped }) {
            promise.succeed(.aborted())
        } else if let (index, number) = start {
            run(job, worker: index, number: number)
        }
        return promise.futureResult
    }

    private func run(_ job: Job, worker index: Int, number: Int) {
        let due = NIODeadline.now() + .seconds(clamping: timeoutSeconds)
        let needsTimer = box.withLockedValue { box -> Bool in
            guard index < box.workers.count else { return false }
            box.workers[index].deadline = due
            if let at = box.workers[index].timerDue, at <= due { return false }
            box.workers[index].timer?.cancel()
            box.workers[index].timer = nil
            box.workers[index].timerDue = due
            return true
        }
        if needsTimer { armTimer(worker: index, due: due, loop: job.loop) }
        job.work(index).hop(to: job.loop).whenComplete { [self] result in
            let owned = box.withLockedValue { box -> Bool in
                guard index < box.workers.count, box.workers[index].jobNumber == number, box.workers[index].job != nil else { return false }
                box.workers[index].deadline = nil
                return true
            }
            // A job whose worker was killed has already been answered (with a closed connection).
            guard owned else { return }
            switch result {
            case .success(let response): job.promise.succeed(response)
            case .failure: job.promise.succeed(.aborted())
            }
            next(worker: index)
        }
    }

    private func armTimer(worker index: Int, due: NIODeadline, loop: EventLoop) {
        let task = loop.scheduleTask(deadline: due) { [self] in timerFired(worker: index, due: due, loop: loop) }
        box.withLockedValue { box in
            if index < box.workers.count, box.workers[index].timerDue == due { box.workers[index].timer = task }
        }
    }

    /// The arbiter looks at a worker: past its job's deadline it is killed; before it, the look moves to the deadline.
    private func timerFired(worker index: Int, due: NIODeadline, loop: EventLoop) {
        let (kill, next): (Int?, NIODeadline?) = box.withLockedValue { box in
            // A worker replaced (killed, rebooted) since: this look was for the one before.
            guard index < box.workers.count, box.workers[index].timerDue == due else { return (nil, nil) }
            box.workers[index].timer = nil
            box.workers[index].timerDue = nil
            guard box.workers[index].job != nil, let deadline = box.workers[index].deadline else { return (nil, nil) }
            if deadline > due {
                box.workers[index].timerDue = deadline
                return (nil, deadline)
            }
            return (box.workers[index].jobNumber, nil)
        }
        if let next { armTimer(worker: index, due: next, loop: loop) }
        if let kill { timedOut(worker: index, number: kill) }
    }

    /// The worker takes the next queued job, or becomes idle.
    private func next(worker index: Int) {
        let start: (Job, Int)? = box.withLockedValue { box in
            guard index < box.workers.count else { return nil }
            if box.queueHead < box.queue.count, !box.stopped {
                let job = box.queue[box.queueHead]
                box.queueHead += 1
                if box.queueHead > 1024 {
                    box.queue.removeFirst(box.queueHead)
                    box.queueHead = 0
                }
                box.workers[index].job = job
                box.workers[index].jobNumber += 1
                return (job, box.workers[index].jobNumber)
            }
            box.workers[index].job = nil
            return nil
        }
        if let (job, number) = start { run(job, worker: index, number: number) }
    }

    private func timedOut(worker index: Int, number: Int) {
        // A frozen arbiter kills nobody: check again later.
        if runtime.state == .hung {
            let loop = runtime.group.next()
            loop.scheduleTask(in: .milliseconds(200)) { [self] in timedOut(worker: index, number: number) }
            return
        }
        let killed: (Job, Int, Int)? = box.withLockedValue { box in
            guard index < box.workers.count, box.workers[index].jobNumber == number, let job = box.workers[index].job else { return nil }
            let old = box.workers[index].pid
            let new = runtime.nextPID()
            box.workers[index] = Worker(pid: new, job: nil, jobNumber: number + 1)
            return (job, old, new)
        }
        guard let (job, old, new) = killed else { return }
        let log = runtime.log
        let master = runtime.pid
        log.append("[\(LogTime.gunicorn())] [\(master)] [CRITICAL] WORKER TIMEOUT (pid:\(old))")
        job.promise.succeed(.aborted())
        log.append("[\(LogTime.gunicorn())] [\(master)] [ERROR] Worker (pid:\(old)) exited with code 1.")
        log.append("[\(LogTime.gunicorn())] [\(new)] [INFO] Booting worker with pid: \(new)")
        next(worker: index)
    }

    /// A worker blocked reading a slow client's request is killed at `timeout`, as the arbiter kills any worker that
    /// stops notifying it: the same lines as a worker stuck in the app, and a new worker in its place.
    func killReadingWorker() {
        guard runtime.state != .hung else { return }
        let killed: (Int, Int)? = box.withLockedValue { box in
            guard !box.stopped, let index = box.workers.lastIndex(where: { $0.job == nil }) else { return nil }
            let old = box.workers[index].pid
            let new = runtime.nextPID()
            box.workers[index] = Worker(pid: new, job: nil, jobNumber: box.workers[index].jobNumber + 1)
            return (old, new)
        }
        guard let (old, new) = killed else { return }
        let log = runtime.log
        let master = runtime.pid
        log.append("[\(LogTime.gunicorn())] [\(master)] [CRITICAL] WORKER TIMEOUT (pid:\(old))")
        log.append("[\(LogTime.gunicorn())] [\(master)] [ERROR] Worker (pid:\(old)) exited with code 1.")
        log.append("[\(LogTime.gunicorn())] [\(new)] [INFO] Booting worker with pid: \(new)")
    }

    /// Stops taking work; queued requests are dropped (their connections close).
    func shutdown() -> [Int] {
        let (jobs, pids) = box.withLockedValue { box -> ([Job], [Int]) in
            box.stopped = true
            let pending = Array(box.queue[box.queueHead...]) + box.workers.compactMap(\.job)
            for index in box.workers.indices { box.workers[index].timer?.cancel() }
            let pids = box.workers.map(\.pid)
            box.queue.removeAll()
            box.queueHead = 0
            for index in box.workers.indices { box.workers[index].job = nil }
            return (pending, pids)
        }
        for job in jobs { job.promise.succeed(.aborted()) }
        return pids
    }
}
