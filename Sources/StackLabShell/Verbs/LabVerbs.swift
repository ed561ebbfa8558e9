import ArgumentParser
import Foundation
import StackLab

struct LabVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Lab folders: init DIR (a copy of foobar to edit), load DIR (run it), show [FILE].",
        discussion: """
        A lab is a folder of config files in real syntax: lab.conf (the servers), then per server haproxy.cfg,
        nginx.conf, gunicorn.conf.py, my.cnf. Edit them, then 'lab load' the folder to run your version.

        Examples:
          lab init ~/my-lab
          lab load ~/my-lab
          lab show
          lab show lb-01/haproxy.cfg
        """,
        subcommands: [Init.self, Load.self, Show.self])
    static let group = VerbGroup.labs

    func execute(in shell: Shell) async throws {
        await shell.page(HelpVerb.text(for: LabVerb.self, style: shell.style))
    }

    struct Init: ShellVerb {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Write a copy of the foobar lab into a new folder DIR.")
        static let group = VerbGroup.labs
        @Argument(help: "A new (or empty) folder.") var directory: String
        @Flag(help: "The hardened foobar lab: HTTPS at lb-01 (redirect, HSTS), a firewall on every server, MySQL root only from localhost with a password (root-secret).") var hardened = false

        func execute(in shell: Shell) async throws {
            let path = expandTilde(directory)
            do {
                if hardened { try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: path) } else { try shell.session.loader.writeStarter(to: path) }
            } catch { throw ShellError("\(error)") }
            shell.tell("wrote the \(hardened ? "foobar-hardened" : "foobar") lab to \(path) — edit its files, then: lab load \(directory)")
        }
    }

    struct Load: ShellVerb {
        static let configuration = CommandConfiguration(commandName: "load", abstract: "Stop the running lab and start the one in DIR.")
        static let group = VerbGroup.labs
        @Argument(help: "A lab folder (with lab.conf).") var directory: String

        func execute(in shell: Shell) async throws {
            let path = URL(fileURLWithPath: expandTilde(directory)).standardizedFileURL.path
            guard FileManager.default.fileExists(atPath: path) else {
                throw ShellError("there is no folder \(path) — 'lab init \(directory)' writes a starter lab there")
            }
            do {
                try await shell.session.replace(with: LabSource(directory: path))
            } catch let error as ShellError {
                throw error
            } catch {
                throw ShellError("\(error)\n(the lab that was running is still running)")
            }
            shell.tell("lab \(shell.lab.topology.name) from \(path) ready in \(shell.session.startMilliseconds) ms")
            if let state = shell.lab.definition.stateDirectory {
                shell.say(shell.style.dim(TerminalText.wrapStyled("its logs and store data are kept apart from your files, in \(state)", width: shell.style.width)))
            }
        }
    }

    struct Show: ShellVerb {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "List the running lab's files, or print one.")
        static let group = VerbGroup.labs
        @Argument(help: "A file of the lab, e.g. lb-01/haproxy.cfg.") var file: String?

        func execute(in shell: Shell) async throws {
            let directory = shell.lab.definition.directory
            let files = LabFiles.list(in: directory)
            guard let file else {
                shell.say("lab \(shell.lab.topology.name) runs from \(directory)")
                for name in files { shell.say("  " + name) }
                return
            }
            let path = expandTilde(file).hasPrefix("/") ? expandTilde(file) : (directory as NSString).appendingPathComponent(file)
            let near = Suggestions.nearest(file, in: files).map { " — did you mean '\($0)'?" } ?? ""
            // Only the lab's own files: the path, links followed, must lead inside the lab folder.
            guard let real = Self.realPath(path) else {
                throw ShellError("the lab has no file '\(file)'\(near) ('lab show' lists them)")
            }
            let folder = Self.realPath(directory) ?? directory
            guard real.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/") else {
                throw ShellError("'\(file)' is not a file of the lab: 'lab show' prints the files in \(directory) ('lab show' lists them)")
            }
            let bytes: [UInt8]
            do {
                guard let read = try LabFileText.bytes(atPath: real, file: file) else {
                    throw ShellError("the lab has no file '\(file)'\(near) ('lab show' lists them)")
                }
                bytes = read
            } catch let error as ConfigError {
                throw ShellError(error.description)
            }
            // Shown as cat would: bytes that are not UTF-8 appear as \u{FFFD}.
            let text = String(decoding: bytes, as: UTF8.self)
            shell.write(text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
        }

        /// The absolute path with every link followed, nil when nothing is there.
        static func realPath(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
    }
}

func expandTilde(_ path: String) -> String {
    path == "~" ? NSHomeDirectory() : path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst() : path
}
