import Dispatch
import Foundation
import StackLabShell

/// Ctrl-C and termination, handled on a dispatch queue (never in a raw signal handler): SIGINT cancels the running
/// command; with nothing running in a script it ends the run. SIGTERM and SIGHUP give the terminal back and leave.
@MainActor
final class SignalHandlers {
    private let sources: [any DispatchSourceSignal]

    init(shell: Shell, editor: LibEditLineEditor?) {
        let queue = DispatchQueue(label: "stacklab.signals")
        var sources: [any DispatchSourceSignal] = []
        let interactive = shell.interactive
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: queue)
        interrupt.setEventHandler {
            if !shell.interrupt() && !interactive {
                editor?.restoreTerminal()
                exit(130)
            }
        }
        interrupt.resume()
        sources.append(interrupt)
        for number in [SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                // History is saved after every line already; the terminal must not stay raw.
                editor?.restoreTerminal()
                exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
    }

    /// For `serve`: waits for SIGINT or SIGTERM and returns which.
    nonisolated static func waitForStop() async -> Int32 {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "stacklab.serve.signals")
            let resumed = LockedBox(false)
            let sources = SignalSourceList()
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    let first = resumed.withValue { done -> Bool in
                        defer { done = true }
                        return !done
                    }
                    guard first else { return }
                    sources.cancelAll()
                    continuation.resume(returning: number)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}

/// The signal sources of `serve`, cancelled together from whichever signal comes first.
private final class SignalSourceList: @unchecked Sendable {
    // @unchecked: `list` is only touched under `lock`; DispatchSource objects are thread-safe to cancel.
    private let lock = NSLock()
    private var list: [any DispatchSourceSignal] = []

    func append(_ source: any DispatchSourceSignal) {
        lock.lock()
        list.append(source)
        lock.unlock()
    }

    func cancelAll() {
        lock.lock()
        let all = list
        list = []
        lock.unlock()
        for source in all { source.cancel() }
    }
}
