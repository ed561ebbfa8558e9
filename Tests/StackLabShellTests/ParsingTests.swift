import Testing
@testable import StackLabShell

@Suite struct CommandLineTextTests {
    @Test func wordsSplitOnSpacesAndQuotesKeepThem() throws {
        #expect(try CommandLineText.words(in: "curl -X POST -d 'author=ann&body=hi there' /api/posts")
            == ["curl", "-X", "POST", "-d", "author=ann&body=hi there", "/api/posts"])
        #expect(try CommandLineText.words(in: #"curl -H "Host: www.foobar.com" /"#) == ["curl", "-H", "Host: www.foobar.com", "/"])
        #expect(try CommandLineText.words(in: #"logs web\ 01"#) == ["logs", "web 01"])
    }

    @Test func semicolonsSeparateCommandsButNotInsideQuotes() throws {
        let commands = try CommandLineText.commands(in: "status; curl -d 'a;b' /; ; diagram")
        #expect(commands.map(\.words) == [["status"], ["curl", "-d", "a;b", "/"], ["diagram"]])
    }

    @Test func hashStartsAComment() throws {
        #expect(try CommandLineText.commands(in: "# just a note").isEmpty)
        #expect(try CommandLineText.commands(in: "status   # look first").map(\.words) == [["status"]])
        #expect(try CommandLineText.words(in: "curl /#anchor") == ["curl", "/#anchor"])
    }

    @Test func aTrailingAmpersandRunsACommandInTheBackground() throws {
        let commands = try CommandLineText.commands(in: "tap internet>lb-01 -n 2 &; curl -d 'a=1&b=2' /login")
        #expect(commands.map(\.background) == [true, false])
        #expect(commands[0].words == ["tap", "internet>lb-01", "-n", "2"] && commands[0].text == "tap internet>lb-01 -n 2")
        #expect(commands[1].words == ["curl", "-d", "a=1&b=2", "/login"])
        // Quoted, escaped or in a comment, & is just a character.
        #expect(try CommandLineText.commands(in: "curl -d 'a&'").first?.background == false)
        #expect(try CommandLineText.commands(in: #"curl -d a\&"#).first?.words == ["curl", "-d", "a&"])
        #expect(try CommandLineText.commands(in: "status # and then &").first?.background == false)
        #expect(throws: CommandLineText.SyntaxError.self) { try CommandLineText.commands(in: "&") }
    }

    @Test func outputWhileThePromptIsUpWaitsForTheEditorInWholeLines() {
        final class Display: PromptDisplay {
            let wakes = LockedBox(0)
            func linesWaiting() { wakes.withValue { $0 += 1 } }
        }
        let output = StandardOutput()
        let display = Display()
        output.attach(display)
        output.beginEditing()
        output.write("[1] load: 200 requests")
        #expect(display.wakes.current == 0 && output.takeWaitingLines().isEmpty)
        output.write(" to /\nserved by web-01\nhalf")
        #expect(display.wakes.current == 1)
        #expect(output.takeWaitingLines() == "[1] load: 200 requests to /\nserved by web-01\n")
        #expect(output.takeWaitingLines().isEmpty)
        // A line is never split around the prompt: its start waits for its end.
        output.write(" a line\n")
        #expect(output.takeWaitingLines() == "half a line\n")
        output.endEditing()
        #expect(output.takeWaitingLines().isEmpty)
    }

    @Test func sqlTakesTheRestOfTheLineSemicolonsIncluded() throws {
        let commands = try CommandLineText.commands(in: "status; sql BEGIN; DELETE FROM posts WHERE author = 'a;b'; ROLLBACK")
        #expect(commands.map(\.words.first) == ["status", "sql"])
        #expect(commands[1].rest == "BEGIN; DELETE FROM posts WHERE author = 'a;b'; ROLLBACK")
    }

    @Test func sqlKeepsTheTextAfterTheVerbAsTyped() throws {
        let command = try #require(try CommandLineText.commands(in: "sql  SELECT 'a  b' FROM posts").first)
        #expect(command.rest == "SELECT 'a  b' FROM posts")
    }

    @Test func anUnclosedQuoteSaysWhichAndHowToFixIt() {
        #expect(throws: CommandLineText.SyntaxError.self) { try CommandLineText.words(in: "curl -d 'oops /") }
        do {
            _ = try CommandLineText.commands(in: "curl -d \"oops /")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.message.contains("double quote"))
        }
    }

    @Test func partialWordsGiveTheWordUnderTheCursor() {
        #expect(CommandLineText.partialWords(in: "kill web-0") == (["kill"], "web-0") as ([String], String))
        #expect(CommandLineText.partialWords(in: "kill ") == (["kill"], "") as ([String], String))
        #expect(CommandLineText.partialWords(in: "") == ([], "") as ([String], String))
    }
}

@Suite struct VerbParsingTests {
    func parse(_ line: String) -> Shell.Parsed {
        let command = try! CommandLineText.commands(in: line)[0]
        let type = VerbTable.verb(named: command.words[0])!
        return Shell.parse(type, command: command)
    }

    @Test func curlOptionsParseLikeCurl() throws {
        guard case .verb(let verb) = parse("curl -v -X PUT -d x=1 -H 'A: b' -H 'C: d' /api/posts") else {
            Issue.record("curl did not parse")
            return
        }
        let curl = try #require(verb as? CurlVerb)
        #expect(curl.v)
        #expect(curl.method == "PUT")
        #expect(curl.data == "x=1")
        #expect(curl.headers == ["A: b", "C: d"])
        #expect(curl.target == "/api/posts")
    }

    @Test func loadOptionsParse() throws {
        guard case .verb(let verb) = parse("load -d 2s -c 8 --rate 50 /health") else {
            Issue.record("load did not parse")
            return
        }
        let load = try #require(verb as? LoadVerb)
        #expect(load.d == "2s" && load.c == 8 && load.rate == 50 && load.target == "/health")
        #expect(LoadVerb.seconds("2s") == 2 && LoadVerb.seconds("500ms") == 0.5 && LoadVerb.seconds("2m") == 120
            && LoadVerb.seconds("10") == 10 && LoadVerb.seconds("soon") == nil)
    }

    @Test func aMissingArgumentGivesUsageAndPointsToHelp() {
        guard case .error(let text) = parse("slow web-01") else {
            Issue.record("expected a usage error")
            return
        }
        #expect(text.contains("usage: slow <target> <milliseconds>"))
        #expect(text.contains("help slow"))
        #expect(!text.contains("--help"))
    }

    @Test func aBadValueSaysWhatWouldWork() {
        guard case .error(let text) = parse("slow web-01 0") else {
            Issue.record("expected a validation error")
            return
        }
        #expect(text.contains("between 1 and 600000"))
    }

    @Test func dashDashHelpIsHelpNotAnError() {
        guard case .help(let text) = parse("kill --help") else {
            Issue.record("expected help")
            return
        }
        #expect(text.contains("usage: kill <target>"))
    }

    @Test func labSubcommandsParse() {
        guard case .verb(let verb) = parse("lab show lb-01/haproxy.cfg") else {
            Issue.record("lab show did not parse")
            return
        }
        #expect((verb as? LabVerb.Show)?.file == "lb-01/haproxy.cfg")
    }

    @Test func everyVerbHasASummaryAnExampleAndUsage() {
        for verb in VerbTable.all {
            #expect(!VerbTable.summary(of: verb).isEmpty, "\(verb._commandName) has no summary")
            let help = HelpVerb.text(for: verb, style: .plain)
            #expect(help.contains("usage: \(verb._commandName)"), "\(verb._commandName): \(help)")
            #expect(help.contains("Example"), "help \(verb._commandName) has no example")
        }
    }
}
