import Dispatch
import Foundation
import StackLabShell

/// Ctrl-C and termination, handled on a dispatch queue (never in a raw signal handler): SIGINT cancels the running
/// command; with nothing running in a script it ends the run. SIGTERM and SIGHUP give the terminal back and leave.
@MainActor
final class SignalHandlers {
    private let sources: [any DispatchSourceSignal]

    init(shell: Shell, editor: LibEditLineEditor?) {
        let interactive = shell.interactive
        let interrupt: @Sendable () -> Void = { [shell] in Self.interrupt(shell, editor: editor, interactive: interactive) }
        sources = Self.install(interrupt: interrupt, editor: editor)
    }

    /// Built outside the main actor: signal handlers run on a dispatch queue and must not inherit its isolation.
    private nonisolated static func install(interrupt: @escaping @Sendable () -> Void,
                                            editor: LibEditLineEditor?) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "stacklab.signals")
        var sources: [any DispatchSourceSignal] = []
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: queue)
        source.setEventHandler(handler: interrupt)
        source.resume()
        sources.append(source)
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
        if let editor {
            // A resized window: libedit redraws the line at the new width; text printed after it reflows.
            signal(SIGWINCH, SIG_IGN)
            let resize = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: queue)
            resize.setEventHandler { editor.terminalResized() }
            resize.resume()
            sources.append(resize)
        }
        return sources
    }

    private nonisolated static func interrupt(_ shell: Shell, editor: LibEditLineEditor?, interactive: Bool) {
        if !shell.interrupt() && !interactive {
            editor?.restoreTerminal()
            exit(130)
        }
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
