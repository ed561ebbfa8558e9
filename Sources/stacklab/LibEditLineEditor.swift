@preconcurrency import CLibEdit
import Foundation
import StackLabShell

/// The interactive LineEditor: libedit's native API (Emacs keys, history, Tab completion), with Ctrl-C as a key that
/// cancels the line instead of a signal that kills the shell.
///
/// libedit is not thread-safe: every call into it runs on `queue`, a serial queue, one at a time.
///
/// Output that arrives while the prompt is up (a background job, an alert) is printed above it: libedit reads each
/// key through `readCharacter`, which also waits on a pipe that `StandardOutput` wakes. On that wake-up, on the
/// editor's own thread, it moves to the start of the prompt, clears to the end of the screen, prints the waiting
/// lines and asks libedit to draw the prompt and the typed line again (EL_REFRESH) — as LLDB's editor does.
final class LibEditLineEditor: LineEditor, PromptDisplay, @unchecked Sendable {
    // @unchecked: `editLine`, `history`, `promptBuffer` and `promptWidth` are used only inside `queue` (serial) and in
    // libedit's callbacks, which run inside `el_gets` on that queue; the other state is behind LockedBox, and the
    // wake pipe's descriptors never change after init.
    private let queue = DispatchQueue(label: "stacklab.libedit")
    private var editLine: OpaquePointer?
    private var history: OpaquePointer?
    private var promptBuffer: UnsafeMutablePointer<CChar>?
    private var promptWidth = 0
    private let historyPath: String
    private let completer = LockedBox<Completer?>(nil)
    private let cancelledLine = LockedBox(false)
    private let resized = LockedBox(false)
    /// A prompt to draw at the next redraw (the lab's health changed), handed over from the shell's actor.
    private let newPrompt = LockedBox<String?>(nil)
    private let savedTerminal: termios?
    private let screen: StandardOutput
    /// Written by `linesWaiting` (any thread), read by `readCharacter`.
    private let wake: (read: Int32, write: Int32)

    init(historyPath: String, screen: StandardOutput) {
        self.historyPath = historyPath
        self.screen = screen
        var settings = termios()
        savedTerminal = tcgetattr(STDIN_FILENO, &settings) == 0 ? settings : nil
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
        }
        wake = (ends[0], ends[1])
        queue.sync { setUp() }
        if wake.read >= 0 { screen.attach(self) }
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
        if wake.read >= 0 {
            sh_set_getcfn(el) { el, character in
                guard let el, let character, let data = sh_get_clientdata(el) else { return -1 }
                return Unmanaged<LibEditLineEditor>.fromOpaque(data).takeUnretainedValue().readCharacter(el, character)
            }
        }
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
        promptWidth = Self.screenWidth(ofPrompt: prompt)
        // A newer prompt than one handed over while no line was read.
        newPrompt.withValue { $0 = nil }
        cancelledLine.withValue { $0 = false }
        if resized.withValue({ value in defer { value = false }; return value }) { el_resize(el) }
        var count: Int32 = 0
        screen.beginEditing()
        let line = el_gets(el, &count)
        if cancelledLine.current {
            screen.writeDirectly("^C\n")
            screen.endEditing()
            return .interrupted
        }
        screen.endEditing()
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

    // MARK: - Output while the prompt is up

    func promptChanged(_ prompt: String) { newPrompt.withValue { $0 = prompt } }

    func linesWaiting() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// SIGWINCH: libedit learns the new width at once if a line is being edited, else before the next prompt.
    func terminalResized() {
        resized.withValue { $0 = true }
        linesWaiting()
    }

    /// libedit's character reader: waits for a key or for output to show; returns 1 with a character, 0 at the end
    /// of input, -1 on an error (as libedit's own reader does).
    private func readCharacter(_ el: OpaquePointer, _ character: UnsafeMutablePointer<wchar_t>) -> Int32 {
        while true {
            var descriptors = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if descriptors[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while Glibc.read(wake.read, &drain, drain.count) > 0 {}
                showWaiting(el)
            }
            if descriptors[0].revents != 0 { return readScalar(into: character) }
        }
    }

    /// One UTF-8 character from the keyboard (the shell sets an UTF-8 LC_CTYPE, as libedit's own reader assumes).
    private func readScalar(into character: UnsafeMutablePointer<wchar_t>) -> Int32 {
        func byte() -> Int? {
            var value: UInt8 = 0
            while true {
                let count = Glibc.read(STDIN_FILENO, &value, 1)
                if count == 1 { return Int(value) }
                if count < 0 && errno == EINTR { continue }
                return count == 0 ? nil : -1
            }
        }
        guard let first = byte() else { return 0 }
        guard first >= 0 else { return -1 }
        let length = first < 0x80 ? 1 : first >> 5 == 0b110 ? 2 : first >> 4 == 0b1110 ? 3 : first >> 3 == 0b11110 ? 4 : 1
        var scalar = length == 1 ? first : first & (0xFF >> (length + 1))
        for _ in 1..<length {
            guard let next = byte(), next >= 0 else { return -1 }
            scalar = scalar << 6 | (next & 0x3F)
        }
        character.pointee = wchar_t(truncatingIfNeeded: scalar)
        return 1
    }

    /// Prints what waits above the prompt, then has libedit draw the prompt and the typed line again.
    private func showWaiting(_ el: OpaquePointer) {
        let text = screen.takeWaitingLines()
        let resize = resized.withValue { value in defer { value = false }; return value }
        let oldPromptWidth = promptWidth
        if resize { el_resize(el) }
        guard !text.isEmpty || resize else { return }
        var typed = 0
        if let info = el_line(el), let buffer = info.pointee.buffer, let cursor = info.pointee.cursor {
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
                                            count: max(0, cursor - buffer))
            typed = String(decoding: bytes, as: UTF8.self).count
        }
        // The cursor is on the row of the typed line where the cursor is; the prompt starts that many rows up.
        let columns = max(1, TerminalSize.current().columns)
        let rowsUp = (oldPromptWidth + typed) / columns
        if let prompt = newPrompt.withValue({ value in defer { value = nil }; return value }) {
            free(promptBuffer)
            promptBuffer = strdup(prompt)
            promptWidth = Self.screenWidth(ofPrompt: prompt)
        }
        screen.writeDirectly("\r" + (rowsUp > 0 ? "\u{1B}[\(rowsUp)A" : "") + "\u{1B}[J" + text)
        sh_refresh(el)
    }

    /// Columns a prompt takes: what lies between `\u{01}` marks is escape codes.
    static func screenWidth(ofPrompt prompt: String) -> Int {
        var width = 0
        var literal = false
        for character in prompt {
            if character == "\u{01}" { literal.toggle(); continue }
            if !literal { width += 1 }
        }
        return width
    }

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
        let columns = max(1, TerminalSize.current().columns / width)
        var listing = "\n"
        for (index, candidate) in result.candidates.enumerated() {
            listing += candidate.padding(toLength: width, withPad: " ", startingAt: 0)
            if (index + 1) % columns == 0 || index == result.candidates.count - 1 { listing += "\n" }
        }
        screen.writeDirectly(listing)
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
        screen.endEditing()
        restoreTerminal()
    }
}
