@preconcurrency import CLibEdit
import Foundation
import StackLabShell

/// The interactive LineEditor: libedit's native API (Emacs keys, history, Tab completion), with Ctrl-C as a key that
/// cancels the line instead of a signal that kills the shell.
///
/// libedit is not thread-safe: every call into it runs on `queue`, a serial queue, one at a time.
final class LibEditLineEditor: LineEditor, @unchecked Sendable {
    // @unchecked: `editLine`, `history` and `promptBuffer` are used only inside `queue` (serial); the other state is
    // behind LockedBox.
    private let queue = DispatchQueue(label: "stacklab.libedit")
    private var editLine: OpaquePointer?
    private var history: OpaquePointer?
    private var promptBuffer: UnsafeMutablePointer<CChar>?
    private let historyPath: String
    private let completer = LockedBox<Completer?>(nil)
    private let cancelledLine = LockedBox(false)
    private let savedTerminal: termios?

    init(historyPath: String) {
        self.historyPath = historyPath
        var settings = termios()
        savedTerminal = tcgetattr(STDIN_FILENO, &settings) == 0 ? settings : nil
        queue.sync { setUp() }
    }

    private func setUp() {
        guard let el = sh_init("stacklab") else { return }
        editLine = el
        sh_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        sh_set_editor(el, "emacs")
        // libedit's own signal handling stays off: Ctrl-C is a key while editing (below) and a SIGINT, handled by the
        // shell, while a command runs.
        sh_set_signal(el, 0)
        sh_set_prompt(el, { el in
            guard let el, let data = sh_get_clientdata(el) else { return nil }
            return Unmanaged<LibEditLineEditor>.fromOpaque(data).takeUnretainedValue().promptBuffer
        }, 1)
        sh_addfn(el, "stacklab-complete", "Complete the word before the cursor", { el, _ in
            guard let el, let data = sh_get_clientdata(el) else { return SH_CC_ERROR_VALUE }
            return Unmanaged<LibEditLineEditor>.fromOpaque(data).takeUnretainedValue().complete(el)
        })
        sh_addfn(el, "stacklab-cancel", "Cancel the line (Ctrl-C)", { el, _ in
            guard let el, let data = sh_get_clientdata(el) else { return SH_CC_EOF }
            Unmanaged<LibEditLineEditor>.fromOpaque(data).takeUnretainedValue().cancelledLine.withValue { $0 = true }
            return SH_CC_EOF
        })
        sh_bind(el, "^I", "stacklab-complete")
        sh_bind(el, "^C", "stacklab-cancel")
        // While editing, Ctrl-C must reach the key binding above, not raise SIGINT.
        sh_setty(el, "-d", "-isig")
        if let h = history_init() {
            history = h
            sh_history_setsize(h, 1000)
            sh_history_setunique(h, 1)
            try? FileManager.default.createDirectory(atPath: (historyPath as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: historyPath) { sh_history_load(h, historyPath) }
            sh_set_history(el, h)
        }
        // ~/.editrc, for learners who bind their own keys (as in other libedit programs).
        el_source(el, nil)
        sh_bind(el, "^C", "stacklab-cancel")
    }

    func readLine(prompt: String) async -> LineInput {
        await withCheckedContinuation { continuation in
            queue.async { [self] in continuation.resume(returning: read(prompt: prompt)) }
        }
    }

    private func read(prompt: String) -> LineInput {
        guard let el = editLine else { return .end }
        free(promptBuffer)
        promptBuffer = strdup(prompt)
        cancelledLine.withValue { $0 = false }
        var count: Int32 = 0
        let line = el_gets(el, &count)
        if cancelledLine.current {
            fputs("^C\n", stdout)
            fflush(stdout)
            return .interrupted
        }
        guard let line, count > 0 else { return .end }
        var text = String(cString: line)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return .line(text)
    }

    func remember(_ line: String) {
        queue.async { [self] in
            guard let history else { return }
            sh_history_enter(history, line)
            // Saved at once, so history survives however the shell ends.
            sh_history_save(history, historyPath)
        }
    }

    func setCompleter(_ completer: Completer) { self.completer.withValue { $0 = completer } }

    /// Tab: complete the word before the cursor; with several candidates, add what they share or list them.
    private func complete(_ el: OpaquePointer) -> UInt8 {
        guard let info = el_line(el), let completer = completer.current else { return SH_CC_REFRESH_BEEP }
        let start = UnsafeRawPointer(info.pointee.buffer!)
        let length = UnsafeRawPointer(info.pointee.cursor!) - start
        let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: max(0, length))
        let text = String(decoding: bytes, as: UTF8.self)
        let result = completer.complete(text)
        guard !result.candidates.isEmpty else { return SH_CC_REFRESH_BEEP }
        let insertion = result.insertion
        if !insertion.isEmpty {
            el_insertstr(el, insertion)
            return SH_CC_REFRESH
        }
        // Several candidates and nothing more in common: list them under the line, then redraw it.
        let width = (result.candidates.map(\.count).max() ?? 0) + 2
        let columns = max(1, 80 / width)
        var listing = "\n"
        for (index, candidate) in result.candidates.enumerated() {
            listing += candidate.padding(toLength: width, withPad: " ", startingAt: 0)
            if (index + 1) % columns == 0 || index == result.candidates.count - 1 { listing += "\n" }
        }
        fputs(listing, stdout)
        fflush(stdout)
        return SH_CC_REDISPLAY
    }

    /// Gives the terminal back as it was (also called from the SIGTERM handler, off the editor's queue).
    func restoreTerminal() {
        guard var settings = savedTerminal else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &settings)
    }

    func close() {
        queue.sync {
            if let history {
                sh_history_save(history, historyPath)
                history_end(history)
            }
            history = nil
            if let editLine { el_end(editLine) }
            editLine = nil
        }
        restoreTerminal()
    }
}
