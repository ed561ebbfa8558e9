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

    /// posix_spawn, not Foundation's Process: Process puts the child in a process group of its own, which is then
    /// not the terminal's foreground group, and less's first read of the keyboard fails with EIO. The pager gets
    /// the shell's process group, default signal handling (the shell ignores SIGINT and SIGWINCH for its dispatch
    /// sources) and the text on its standard input.
    private static func run(_ command: [String], input: String, environment: [String: String]) -> Bool {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return false }
        var environment = environment
        // Colours through, as `less -R`.
        if environment["LESS"] == nil { environment["LESS"] = "R" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[0], STDIN_FILENO)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        posix_spawn_file_actions_addclose(&actions, ends[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGPIPE, SIGQUIT, SIGTSTP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let arguments = command.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, arguments, variables)
        close(ends[0])
        guard spawned == 0 else {
            close(ends[1])
            return false
        }
        // The pager may quit (q) before reading everything: a closed pipe is not an error here (NIO ignores SIGPIPE
        // for the whole process already; said again for a shell run without a lab).
        signal(SIGPIPE, SIG_IGN)
        var bytes = Array(input.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            bytes = bytes.dropFirst(written)
        }
        close(ends[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return true
    }
}
