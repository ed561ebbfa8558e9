import Foundation
import StackLab
import StackLabCourse
import Testing
@testable import StackLabShell

/// What a learner reads, at 80 and 120 columns: lesson prose, `status`, `help`, `help load`. No line is longer than
/// the terminal, no word is broken (the words at the width are exactly the words of the same text unwrapped), and
/// Markdown is rendered, not shown.
@Suite struct TerminalTextTests {
    static let widths = [80, 120]

    /// The words of a text, for "nothing broken mid-word": wrapping may only move words, never cut them.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    static func longest(_ text: String) -> (width: Int, line: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = lines.max { visibleWidth($0) < visibleWidth($1) } ?? ""
        return (visibleWidth(line), line)
    }

    @Test(arguments: widths) func lessonProseFitsAndIsRendered(width: Int) {
        let library = LessonLibrary.builtIn()
        #expect(!library.lessons.isEmpty)
        for lesson in library.lessons {
            for prose in [lesson.goal] + lesson.steps.map(\.prose) where !prose.isEmpty {
                let text = TerminalText.markdown(prose, width: width, style: .plain)
                let (longest, line) = Self.longest(text)
                #expect(longest <= width, "lesson \(lesson.number) at \(width): \(line)")
                let unwrapped = TerminalText.markdown(prose, width: 100_000, style: .plain)
                #expect(Self.words(text) == Self.words(unwrapped), "lesson \(lesson.number): a word was broken at \(width)")
                #expect(!text.contains("**") && !text.contains("```"), "lesson \(lesson.number) shows raw Markdown:\n\(text)")
            }
        }
    }

    @Test func markdownRendersBoldEmphasisCodeListsAndFences() {
        let markdown = """
            Send **four** requests, *then* read `X-Served-By` in each answer — a header that says which web server's app
            answered the request.

            - first item, long enough that it has to wrap onto a second line at forty columns
            - second

            ```file lb-01/haproxy.cfg
            backend web
                balance roundrobin
            ```
            """
        let colours = Style(colors: true, terminal: true)
        let text = TerminalText.markdown(markdown, width: 40, style: colours)
        #expect(text.contains(colours.bold("four")))
        #expect(text.contains(colours.italic("then")))
        #expect(text.contains(colours.cyan("X-Served-By")))
        #expect(!text.contains("**") && !text.contains("```") && !text.contains("`X"))
        let plain = TerminalText.markdown(markdown, width: 40, style: .plain)
        let lines = plain.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Send four requests, then read")
        // Without colour, code keeps its backticks (type exactly this).
        #expect(plain.contains("`X-Served-By`"))
        // A list item hangs under its first word.
        let item = try? #require(lines.firstIndex { $0.hasPrefix("• first item") })
        #expect(item.map { lines[$0 + 1].hasPrefix("  ") && !lines[$0 + 1].hasPrefix("   ") } == true, "\(plain)")
        // A file block: a label, then the file indented four spaces, exactly as written.
        #expect(lines.contains("  lb-01/haproxy.cfg:"))
        #expect(lines.contains("    backend web") && lines.contains("        balance roundrobin"))
        for line in lines { #expect(visibleWidth(line) <= 40, "\(line)") }
    }

    @Test(arguments: widths) func statusFits(width: Int) {
        let view = StatusView(rows: [
            StatusRow(server: "lb-01", process: "haproxy", pid: 1201, state: .running, address: "127.0.1.1:49080 127.0.1.1:49405", requests: 1200),
            StatusRow(server: "web-01", process: "nginx", pid: 1202, state: .crashed, address: "-", check: "DOWN (L4CON)", checkIsUp: false),
            StatusRow(server: "web-01", process: "gunicorn", pid: 1203, state: .slow(300), address: "127.0.1.11:49000 127.0.1.11:50102"),
            StatusRow(server: "web-02", process: "nginx", pid: 1204, state: .running, address: "127.0.1.12:49080 127.0.1.12:50113",
                      check: "UP 2/3 (L7TOUT)", checkIsUp: false, connections: 12, requests: 60_000, errors: 150),
        ], checker: "lb-01", partitions: [("lb-01", "web-02")],
           serverAddresses: ["lb-01": "127.0.1.1", "web-01": "127.0.1.11", "web-02": "127.0.1.12"])
        let text = view.render(style: Style(colors: false, terminal: false, columns: width))
        let (longest, line) = Self.longest(text)
        #expect(longest <= width, "status at \(width): \(line)")
        if width == 80 {
            // The narrow layout: ports on the server's own address, which the legend names.
            #expect(text.contains("PORTS") && text.contains("49000 50102") && !text.contains("127.0.1.11:49000"))
            #expect(text.contains("web-01 127.0.1.11"))
        } else {
            #expect(text.contains("127.0.1.11:49000 127.0.1.11:50102"))
        }
        #expect(text.contains("DOWN after 3 misses"))
    }

    @Test(arguments: widths) func helpFitsAndPrintsEachDefaultOnce(width: Int) {
        let style = Style(colors: false, terminal: false, columns: width)
        let wide = Style(colors: false, terminal: false, columns: 100_000)
        for (name, text, unwrapped) in [("help", HelpVerb.overview(style: style), HelpVerb.overview(style: wide))]
            + VerbTable.all.map({ ("help \($0._commandName)", HelpVerb.text(for: $0, style: style), HelpVerb.text(for: $0, style: wide)) }) {
            let (longest, line) = Self.longest(text)
            #expect(longest <= width, "\(name) at \(width): \(line)")
            // swift-argument-parser's own columns move words between lines; they must all be there, whole.
            #expect(Set(Self.words(text)) == Set(Self.words(unwrapped)), "\(name): a word was broken at \(width)")
            // No section left empty (the shell drops swift-argument-parser's --help line).
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (index, line) in lines.enumerated() where line.hasSuffix(":") && line == line.uppercased() && !line.hasPrefix(" ") {
                let next = lines.dropFirst(index + 1).first ?? ""
                #expect(next.hasPrefix("  "), "\(name): '\(line)' is empty")
            }
            #expect(!text.contains("--help"), "\(name)")
        }
        // One line a verb beside its name in `help`, at 80 columns too.
        for verb in VerbTable.all { #expect(VerbTable.summary(of: verb).count <= 80 - 15, "\(verb._commandName)'s summary is long") }
        let load = HelpVerb.text(for: LoadVerb.self, style: style)
        for value in ["4", "GET", "/"] {
            #expect(load.components(separatedBy: "(default: \(value))").count == 2, "help load: default \(value) not said once:\n\(load)")
            #expect(!load.contains("(default \(value))"), "help load says default \(value) twice:\n\(load)")
        }
        #expect(!HelpVerb.text(for: KillVerb.self, style: style).trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("OPTIONS:"))
    }

    @Test func everyUsageErrorHasTheSameShape() {
        for line in ["kill", "load -x", "load -n abc", "curl", "slow web-01 0", "lab init", "partition lb-01"] {
            let words = line.split(separator: " ").map(String.init)
            let type = VerbTable.verb(named: words[0])!
            guard case .error(let text) = Shell.parse(type, command: .init(words: words, rest: "", text: line), width: 80) else {
                Issue.record("'\(line)' parsed")
                continue
            }
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count >= 3, "\(line): \(text)")
            #expect(lines.contains { $0.hasPrefix("usage: \(words[0])") }, "\(line): \(text)")
            #expect(lines.last == "'help \(words[0])' explains it", "\(line): \(text)")
            #expect(!text.contains("OVERVIEW") && !text.contains("--help"), "\(line): \(text)")
        }
    }

    @Test func wrappingKeepsColourCodesOutOfTheCount() {
        let style = Style(colors: true, terminal: true)
        let text = TerminalText.wrapStyled(style.red("error:") + " " + String(repeating: "word ", count: 30), width: 40)
        for line in text.split(separator: "\n") { #expect(visibleWidth(String(line)) <= 40) }
        #expect(text.split(separator: "\n").first.map { visibleWidth(String($0)) } ?? 0 > 30)
    }
}
