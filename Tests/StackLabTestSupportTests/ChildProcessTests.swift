import Foundation
import Glibc
import Testing
@testable import StackLabTestSupport

/// The child-process runner the suites start real tools with: real children of this test process, real pipes.
@Suite(.runsALab) struct ChildProcessTests {
    @Test func exitStatusAndBothStreamsApart() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.termination == .exited(3))
        #expect(result.status == 3)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test func mergedStreamsKeepTheOrderWritten() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "echo a; echo b >&2; echo c; echo d >&2"], mergingStderr: true)
        #expect(result.termination == .exited(0))
        #expect(result.stdout == "a\nb\nc\nd\n")
        #expect(result.stderr == "")
    }

    @Test func aSignalIsNotAnExit() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"])
        #expect(result.termination == .signalled(SIGTERM))
        #expect(result.status == 128 + SIGTERM)
    }

    @Test func inputReachesStdinAndIsClosed() async throws {
        let result = try await ChildProcess.run("/bin/cat", input: "hello\nworld\n")
        #expect(result.termination == .exited(0))
        #expect(result.stdout == "hello\nworld\n")
        let empty = try await ChildProcess.run("/bin/cat", input: "")
        #expect(empty.termination == .exited(0) && empty.stdout == "")
    }

    @Test func withoutInputStdinIsDevNull() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "cat; readlink /proc/self/fd/0"], timeout: 60)
        #expect(result.stdout == "/dev/null\n")
    }

    /// Megabytes each way at once: a runner that wrote all of stdin before reading, or read stdout to its end before
    /// stderr, would wait forever on a full pipe.
    @Test func aChattyChildNeverBlocks() async throws {
        let text = String(repeating: "0123456789abcdef\n", count: 200_000)   // 3.4 MB
        let result = try await ChildProcess.run("/bin/sh", ["-c", "tee /dev/stderr | wc -c"], input: text, timeout: 120)
        #expect(result.termination == .exited(0))
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(text.utf8.count)")
        #expect(result.stderr == text)
    }

    @Test func environmentAndWorkingDirectory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("child-process-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await ChildProcess.run("/bin/sh", ["-c", "echo \"$GREETING\"; pwd; env | wc -l"],
                                                environment: ["GREETING": "hi there"], directory: folder)
        let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.count == 3)
        #expect(lines.first == "hi there")
        #expect(lines.dropFirst().first == folder)
        // Only what was given, and what sh sets itself (PWD and the like): not the test process's environment.
        #expect((Int(lines.last ?? "") ?? 99) < 5, "\(result.stdout)")
        let inherited = try await ChildProcess.run("/bin/sh", ["-c", "echo \"$PATH\""])
        #expect(inherited.stdout == (ProcessInfo.processInfo.environment["PATH"] ?? "") + "\n")
    }

    @Test func aTimeoutKillsTheChildAndItsGroupAndSaysSo() async throws {
        let started = Date()
        // The shell's child (sleep) is in the shell's process group: the kill must reach it too.
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run("/bin/sh", ["-c", "sleep 300 & echo $!; wait"], timeout: 1)
        }
        #expect(Date().timeIntervalSince(started) < 60)
        let failure = try #require(error)
        #expect(failure.reason == .timedOut(seconds: 1))
        #expect(failure.description.contains("did not end within 1 s and was killed (SIGKILL)"), "\(failure)")
        let sleeper = try #require(Int32(failure.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(failure)")
        try await waitUntil("the shell's sleep \(sleeper) to be killed") { !Self.isAlive(sleeper) }
    }

    /// A grandchild that keeps the pipes open does not keep the run waiting once the child itself has ended.
    @Test func aGrandchildHoldingThePipesIsNotWaitedFor() async throws {
        let started = Date()
        let result = try await ChildProcess.run("/bin/sh", ["-c", "sleep 300 & echo $!"], timeout: 120)
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(result.termination == .exited(0))
        if let sleeper = Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(sleeper, SIGKILL) }
    }

    @Test func aMissingProgramCannotStart() async throws {
        let error = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run("/nonexistent/program", ["x"])
        }
        #expect(error?.reason == .couldNotStart("No such file or directory"))
        #expect(error?.description == "could not start /nonexistent/program x: No such file or directory")
        let folder = await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess.run("/bin/true", directory: "/nonexistent/folder")
        }
        #expect(folder?.reason == .couldNotStart("No such file or directory"))
    }

    /// The child sees none of the test process's descriptors: not a socket, not a pipe, close-on-exec or not.
    @Test func noDescriptorIsInherited() async throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(socket > 2)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { for fd in [socket] + ends { close(fd) } }
        #expect(fcntl(socket, F_GETFD) & FD_CLOEXEC == 0, "a descriptor that exec would keep")
        let result = try await ChildProcess.run("/bin/ls", ["/proc/self/fd"])
        let numbers = result.stdout.split(separator: "\n").compactMap { Int32($0) }
        #expect(result.termination == .exited(0))
        #expect(!numbers.contains(socket) && !numbers.contains(ends[0]) && !numbers.contains(ends[1]), "\(numbers)")
        // Its three streams and the folder ls itself is reading.
        #expect(numbers == [0, 1, 2, 3], "\(numbers)")
    }

    /// The test process ignores SIGPIPE (and NIO too); a child starts with every signal at its default, none blocked.
    /// (glibc's posix_spawn ignores its own two real-time signals, 32 and 33, in every child: not ours to judge.)
    @Test func signalsStartAtTheirDefaults() async throws {
        let result = try await ChildProcess.run("/bin/grep", ["-E", "^Sig(Blk|Ign)", "/proc/self/status"])
        let masks = result.stdout.split(separator: "\n").compactMap { line in line.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) } }
        #expect(masks.count == 2, "\(result.stdout)")
        #expect(masks.allSatisfy { $0 & 0x7fff_ffff == 0 }, "signals 1–31 blocked or ignored:\n\(result.stdout)")
    }

    @Test func aBackgroundChildRunsUntilTerminated() async throws {
        let child = try ChildProcess.start("/bin/sleep", ["300"])
        #expect(child.isRunning)
        #expect(child.termination == nil)
        let termination = await child.stop()
        #expect(termination == .signalled(SIGTERM))
        #expect(!child.isRunning)
        #expect(child.termination == .signalled(SIGTERM))
        child.terminate()   // ended: nothing to signal, and no error
        #expect(await child.wait() == .signalled(SIGTERM))
    }

    @Test func aBackgroundChildsOutputGoesToItsFile() async throws {
        let file = try temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let child = try ChildProcess.start("/bin/sh", ["-c", "echo one; echo two >&2; cat; ls /proc/self/fd | wc -l"], output: file)
        #expect(await child.wait() == .exited(0))
        // stdin is /dev/null (cat ends at once); 0, 1, 2 and ls's folder.
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "one\ntwo\n4\n")
    }

    @Test func blockingFormsForThreadsOfTheirOwn() throws {
        let result = try ChildProcess.runBlocking("/bin/echo", ["hi"])
        #expect(result.stdout == "hi\n")
        let child = try ChildProcess.start("/bin/sh", ["-c", "exit 7"])
        #expect(child.waitBlocking() == .exited(7))
    }

    @Test func commandsAreQuotedInErrors() {
        let failure = ChildProcess.Failure(command: ChildProcess.describe("/bin/sh", ["-c", "echo 'a b'"]), reason: .timedOut(seconds: 2))
        #expect(failure.description == "/bin/sh -c 'echo '\\''a b'\\''' did not end within 2 s and was killed (SIGKILL); it printed nothing")
    }

    static func isAlive(_ pid: Int32) -> Bool {
        // Gone, or a zombie waiting for its parent (init) to collect it.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    func temporaryFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-process-\(UUID().uuidString.prefix(8)).log").path
        try Data().write(to: URL(fileURLWithPath: path))
        return path
    }
}
