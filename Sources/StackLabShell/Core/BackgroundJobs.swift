import Foundation

/// Commands typed with a trailing `&` (`tap internet>lb-01 &`, `load -d 30 &`), as a Unix shell runs them: each gets
/// a number, runs while the learner goes on typing, prints whole lines (above the prompt, on a terminal) and a last
/// line when it ends. Ctrl-C stops the command in front, not these; `kill %N` stops one, `jobs` lists them.
@MainActor
public final class BackgroundJobs {
    public struct Job {
        public var number: Int
        public var command: String
        let worker: Shell
        let task: Task<Void, Never>
    }

    public private(set) var running: [Job] = []
    private var nextNumber = 1

    nonisolated init() {}

    /// Starts `command` on its own shell (the same lab, its own output and Ctrl-C switch). Returns once the command
    /// has started (printed something) or ended, or after 5 s, so that what comes next happens while it runs (the
    /// `curl` a `tap` is waiting for).
    @discardableResult
    func start(_ command: CommandLineText.Command, in shell: Shell) async -> Job {
        if running.isEmpty { nextNumber = 1 }
        let number = nextNumber
        nextNumber += 1
        let output = LineBufferedOutput(shell.output)
        // No live views in the background (they redraw a line) and no colour codes of a terminal it does not own.
        let style = Style(colors: shell.style.colors, terminal: false, columns: shell.style.columns)
        let worker = Shell(session: shell.session, output: output, style: style, interactive: false)
        worker.jobNumber = number
        worker.jobOwner = shell
        worker.sqlSessions = shell.sqlSessions
        var foreground = command
        foreground.background = false
        shell.say(shell.style.dim(TerminalText.wrapStyled(
            "[\(number)] \(command.text) — in the background ('kill %\(number)' stops it)", width: shell.style.width, indent: "    ")))
        let done = LockedBox(false)
        let task = Task { @MainActor [weak self, weak shell] in
            let ok = await worker.run(foreground)
            output.flush()
            done.withValue { $0 = true }
            guard let self else { return }
            let stopped = self.stopping.remove(number) != nil
            self.running.removeAll { $0.number == number }
            guard let shell else { return }
            let outcome = stopped ? "stopped" : ok ? "done" : "failed"
            shell.refreshPrompt()
            shell.say(shell.style.dim("[\(number)] \(outcome): \(command.text)"))
        }
        let job = Job(number: number, command: command.text, worker: worker, task: task)
        running.append(job)
        let deadline = ContinuousClock.now + .seconds(5)
        while !done.current, !output.spoke.current, ContinuousClock.now < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return job
    }

    private var stopping: Set<Int> = []

    /// `kill %N`: cancels job N, as Ctrl-C would in front. False when there is no such job.
    func stop(_ number: Int) async -> Bool {
        guard let job = running.first(where: { $0.number == number }) else { return false }
        stopping.insert(number)
        // Until it ends: a command between two of its steps is not armed for a moment.
        while running.contains(where: { $0.number == number }) {
            _ = job.worker.interrupt()
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        await job.task.value
        return true
    }

    /// Waits for every job to end (a `tap -n 4` ends after four messages); stops those still running after `timeout`.
    /// Returns the commands it had to stop.
    @discardableResult
    public func finish(timeout: Double) async -> [String] {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while !running.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        let left = running
        for job in left { _ = await stop(job.number) }
        return left.map(\.command)
    }
}
