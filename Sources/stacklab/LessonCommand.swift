import ArgumentParser
import Foundation
import StackLab
import StackLabCourse
import StackLabShell

/// `stacklab lesson N|FILE [--demo] [--auto SECONDS] [--record FILE.cast]`: the shell, straight into a lesson (or its demo).
struct LessonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lesson",
        abstract: "Open the shell straight into a guided lesson (N, a name, or a lesson .md file); --demo plays it.",
        discussion: """
        Examples:
          stacklab lesson 1
          stacklab lesson health-checks --restart
          stacklab lesson 3 --demo
          stacklab lesson 3 --demo --auto 4 --record lesson3.cast
          asciinema play lesson3.cast
        """)

    @Argument(help: "A lesson number, name, or Markdown file.") var lesson: String?
    @Flag(help: "Play the lesson as a demo: commands typed out and run, a pause between steps.") var demo = false
    @Flag(help: "Start from the first step instead of where you left it.") var restart = false
    @Option(help: "In a demo, go on after this many seconds instead of waiting for Enter.") var auto: Double?
    @Option(help: "Record the demo as an asciicast v2 file (asciinema play FILE.cast replays it).") var record: String?
    @OptionGroup var choice: LabChoice

    func validate() throws {
        if lesson == nil {
            let list = LessonLibrary.builtIn().lessons.map { "\($0.number) \($0.name)" }.joined(separator: ", ")
            throw ValidationError("say which lesson, e.g. stacklab lesson 1 (lessons: \(list))")
        }
        if auto != nil && !demo { throw ValidationError("--auto paces a demo: add --demo") }
        if let auto, !(0...3600).contains(auto) { throw ValidationError("--auto is between 0 and 3600 seconds") }
        if record != nil && !demo { throw ValidationError("--record records a demo: add --demo") }
    }

    @MainActor
    func run() async throws {
        setlocale(LC_CTYPE, "")
        // A bad lesson file is an error before any lab starts.
        let library = LessonLibrary.builtIn()
        let lesson = self.lesson ?? "1"
        let chosen: Lesson
        let isFile = lesson.hasSuffix(".md")
        if isFile {
            do { chosen = try LessonParser.parse(contentsOf: (lesson as NSString).expandingTildeInPath) } catch {
                complain(error)
                throw ExitCode(1)
            }
        } else if let found = library.find(lesson) {
            chosen = found
        } else {
            let list = library.lessons.map { "\($0.number) \($0.name)" }.joined(separator: ", ")
            complain("there is no lesson '\(lesson)' — lessons: \(list)")
            throw ExitCode(1)
        }
        var recorder: AsciicastRecorder?
        if let record {
            var size = winsize()
            let columns = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 100
            let rows = size.ws_row > 0 ? Int(size.ws_row) : 30
            do {
                recorder = try AsciicastRecorder(path: record, width: columns, height: rows, title: "stacklab — lesson \(chosen.number): \(chosen.title)")
            } catch {
                complain("cannot write \(record): \(error.localizedDescription)")
                throw ExitCode(1)
            }
        }
        defer { recorder?.close() }
        let session = try await choice.start()
        let interactive = isatty(STDIN_FILENO) == 1
        let screen = StandardOutput()
        let shell = Shell(session: session, output: CourseOutput(screen, recorder: recorder), style: .detect(), interactive: interactive)
        shell.courseNames = library.names
        let course = CourseSessions.of(shell)
        var status: Int32 = 0
        if demo {
            // Played as the shell's own `demo` verb, so Ctrl-C stops it like any command.
            let signals = SignalHandlers(shell: shell, editor: nil)
            let word = isFile ? "'" + (lesson as NSString).expandingTildeInPath + "'" : lesson
            let ok = await shell.execute("demo \(word)" + (auto.map { " --auto \($0)" } ?? ""))
            status = ok ? 0 : 1
            signals.cancel()
        } else {
            do { try await course.start(chosen, restart: restart) } catch { shell.say("error: \(error)") }
            if interactive {
                let editor = LibEditLineEditor(historyPath: StatePaths.history(), screen: screen)
                let signals = SignalHandlers(shell: shell, editor: editor)
                status = await shell.run(editor: CourseLineEditor(editor, shell: shell))
                editor.close()
                signals.cancel()
            } else {
                let signals = SignalHandlers(shell: shell, editor: nil)
                status = await shell.run(editor: CourseLineEditor(PlainLineEditor(), shell: shell))
                signals.cancel()
            }
        }
        await session.shutdown()
        CourseSessions.cleanUp(after: shell)
        if status != 0 { throw ExitCode(status) }
    }
}
