import Foundation

/// Long text through a pager, as `git help` and `man` do: `$PAGER` (a command line, run by /bin/sh) or else
/// `less -R` (colours pass through) when it is installed.
enum Pager {
    /// Shows `text` in the pager and waits until the learner leaves it (q). False when there is no pager to run,
    /// or it failed to start: then the caller prints the text itself.
    static func show(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) async -> Bool {
        guard let command = command(environment: environment) else { return false }
        return await withCheckedContinuation { continuation in
            // A blocking wait on a thread of its own, never on the shell's actor.
            Thread.detachNewThread {
                continuation.resume(returning: run(command, input: text, environment: environment))
            }
        }
    }

    /// The pager's program and arguments; nil when `PAGER` is empty or `cat`, or no less is found.
    static func command(environment: [String: String]) -> [String]? {
        if let pager = environment["PAGER"]?.trimmingSpaces {
            if pager.isEmpty || pager == "cat" { return nil }
            return ["/bin/sh", "-c", pager]
        }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/less"
            if FileManager.default.isExecutableFile(atPath: path) { return [path, "-R"] }
        }
        return nil
    }

    private static func run(_ command: [String], input: String, environment: [String: String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var environment = environment
        // less: leave the text on the screen when it quits (-X) only if the learner asked; colours through (-R).
        if environment["LESS"] == nil { environment["LESS"] = "R" }
        process.environment = environment
        let pipe = Pipe()
        process.standardInput = pipe
        do { try process.run() } catch { return false }
        let writer = pipe.fileHandleForWriting
        // The pager may quit (q) before reading everything: a closed pipe is not an error here.
        signal(SIGPIPE, SIG_IGN)
        try? writer.write(contentsOf: Data(input.utf8))
        try? writer.close()
        process.waitUntilExit()
        return true
    }
}
