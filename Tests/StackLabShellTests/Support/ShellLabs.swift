import Foundation
import StackLab
import StackLabTestSupport
@testable import StackLabShell

/// Port offsets for the shell's test labs: 18000–18900 (the plan for every suite is in StackLabTests' TestLabs.swift).
/// The terminal test's lab (another process, running beside the in-process labs) has 18000 to itself.
enum ShellTestPorts {
    static let terminal = 18_000
    private static let next = LockedBox(18_100 + Int(getpid() % 8) * 100)
    static func offset() -> Int {
        next.withValue { value in
            defer { value = value >= 18_900 ? 18_100 : value + 100 }
            return value
        }
    }
}

/// Starts a shell test's lab from a folder on the next offset, moving on when a port is taken (the ring of offsets
/// comes round while a long test elsewhere still holds one).
@MainActor
func startShellLab(_ folder: String) async throws -> LabSession {
    var attempt = 0
    while true {
        attempt += 1
        do {
            return try await LabSession.start(LabSource(directory: folder), options: LabOptions(portOffset: ShellTestPorts.offset()),
                                              loader: FolderLabLoader())
        } catch where attempt < 9 && "\(error)".contains("already in use") {
            continue
        }
    }
}

/// The built-in hardened lab (HTTPS at lb-01, firewalls, passwords), with a shell on it for `body`; always stopped.
@MainActor
func withHardenedShell(_ body: (Shell, CapturedOutput) async throws -> Void) async throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
    try await withShell(on: folder, body)
}

/// A shell (plain output, captured) on the lab in `folder`, for `body`; the lab is always stopped.
@MainActor
func withShell(on folder: String, interactive: Bool = false, _ body: (Shell, CapturedOutput) async throws -> Void) async throws {
    let session = try await startShellLab(folder)
    let output = CapturedOutput()
    let shell = Shell(session: session, output: output, style: .plain, interactive: interactive)
    do {
        try await body(shell, output)
    } catch {
        await session.shutdown()
        throw error
    }
    await session.shutdown()
}

func temporaryFolder(_ name: String = "stacklab-shell-test") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The built-in foobar lab from its real files, with fast health checks (`fastHealthChecks`).
func writeFastFoobar(to folder: String) throws {
    try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
    let haproxy = folder + "/lb-01/haproxy.cfg"
    guard let fast = fastHealthChecks(try String(contentsOfFile: haproxy, encoding: .utf8)) else {
        throw ShellError("the foobar lab's haproxy.cfg changed: \(haproxy)")
    }
    try fast.write(toFile: haproxy, atomically: true, encoding: .utf8)
}

/// Starts the foobar lab, hands a shell on it (plain output, captured) to `body`, and always stops the lab.
@MainActor
func withShell(interactive: Bool = false, _ body: (Shell, CapturedOutput) async throws -> Void) async throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try writeFastFoobar(to: folder)
    try await withShell(on: folder, interactive: interactive, body)
}

extension CapturedOutput {
    /// Runs a line and returns only what it printed.
    @MainActor
    func of(_ shell: Shell, _ line: String) async -> (ok: Bool, text: String) {
        clear()
        let ok = await shell.execute(line)
        return (ok, text)
    }
}

extension String {
    /// The text with the shell's line breaks taken out (errors wrap at the terminal's width, 80 when piped), for
    /// looking for a sentence in it.
    var unwrapped: String {
        replacing(#/\n\s*/#, with: " ")
    }
}
