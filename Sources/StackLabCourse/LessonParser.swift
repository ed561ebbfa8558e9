import Foundation

/// Reads a lesson file. The format is plain Markdown that reads well on GitHub:
///
/// ````markdown
/// # Health checks and failover
///
/// One paragraph: what the learner will see and why it matters.
///
/// ## Step 1: Kill a web server
///
/// Prose for the learner.
///
/// ```stacklab
/// kill web-01
/// status
/// ```
///
/// > **Check:** lb-01 sees web-01 DOWN
///
/// > **Hint:** Health checks run every 2 s; three failures in a row mark a server DOWN.
/// ````
///
/// Steps are numbered 1, 2, 3 … in order; each has at least one ```` ```stacklab ```` block (one command a line, `#`
/// starts a comment) and at least one check (see `Check` for the forms). A step's checks run once the learner has
/// typed its commands (`> **Ends:** after `COMMAND`` names an earlier one to stop at). Optional: a question asked
/// before the commands (`> **Predict:**` with `> **Answers:** a · b` and `> **Observe:** …`, see `Prediction`), and
/// a state of the lab to wait for before they are shown (`> **Wait for:** CHECK`). Other fences and blockquotes are
/// prose.
public enum LessonParser {
    public static func parse(_ text: String, file: String, number: Int? = nil) throws(LessonError) -> Lesson {
        let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var (fileNumber, name) = split(base)
        if fileNumber == nil { fileNumber = number }
        var parser = Parser(file: file)
        try parser.read(text)
        guard let title = parser.title else { throw LessonError(file: file, line: 1, reason: "a lesson starts with its title: '# Title'") }
        guard !parser.steps.isEmpty else {
            throw LessonError(file: file, line: parser.titleLine, reason: "the lesson has no steps — add '## Step 1: …' with a ```stacklab block and a '> **Check:** …'")
        }
        try parser.resolveStepKeys()
        for step in parser.steps {
            if step.commands.isEmpty {
                throw LessonError(file: file, line: step.line, reason: "step \(step.number) has no commands — add a ```stacklab block with one command a line")
            }
            if step.checks.isEmpty {
                throw LessonError(file: file, line: step.line, reason: "step \(step.number) has no check — add '> **Check:** …' (\(Check.forms))")
            }
        }
        return Lesson(number: fileNumber ?? 0, name: name, title: title, goal: parser.goal.trimmed,
                      steps: parser.steps, file: file)
    }

    /// Reads a lesson file from disk.
    public static func parse(contentsOf path: String, number: Int? = nil) throws(LessonError) -> Lesson {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LessonError(file: path, line: 0, reason: "cannot read this file")
        }
        return try parse(text, file: path, number: number)
    }

    /// `03-health-checks` → (3, "health-checks").
    static func split(_ base: String) -> (Int?, String) {
        guard let dash = base.firstIndex(of: "-"), let n = Int(base[..<dash]) else { return (nil, base) }
        return (n, String(base[base.index(after: dash)...]))
    }

    fileprivate struct Parser {
        let file: String
        var title: String?
        var titleLine = 1
        var goal = ""
        /// Per step: the keys read as written, resolved once the whole step is known.
        var stepKeys: [Int: [String: (line: Int, text: String)]] = [:]
        var steps: [Step] = []
        /// The blockquote key being continued by `> more text` lines.
        var openKey: (key: String, line: Int, text: String)?
        var inEpilogue = false

        init(file: String) { self.file = file }

        func error(_ line: Int, _ reason: String) -> LessonError { LessonError(file: file, line: line, reason: reason) }

        mutating func read(_ text: String) throws(LessonError) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
            var fence: (marker: String, info: String, line: Int)?
            var index = 0
            while index < lines.count {
                let line = lines[index]
                let number = index + 1
                index += 1
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if let open = fence {
                    if trimmed.hasPrefix(open.marker) && trimmed.allSatisfy({ $0 == open.marker.first }) {
                        fence = nil
                        if open.info != "stacklab" { appendProse(line) }
                        continue
                    }
                    if open.info.hasPrefix("file "), let last = steps.indices.last, !inEpilogue {
                        steps[last].files[steps[last].files.count - 1].text += line + "\n"
                        appendProse(line)
                        continue
                    }
                    if open.info == "stacklab" {
                        guard let last = steps.indices.last, !inEpilogue else {
                            throw error(open.line, "a ```stacklab block belongs in a step ('## Step N: …')")
                        }
                        let command = trimmed
                        if command.isEmpty || command.hasPrefix("#") { continue }
                        steps[last].commands.append(command)
                    } else {
                        appendProse(line)
                    }
                    continue
                }
                if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                    try closeKey()
                    let marker = String(trimmed.prefix(while: { $0 == trimmed.first }))
                    let info = trimmed.dropFirst(marker.count).trimmingCharacters(in: .whitespaces).lowercased()
                    fence = (marker, info, number)
                    if info.hasPrefix("file ") {
                        let path = trimmed.dropFirst(marker.count).trimmingCharacters(in: .whitespaces).dropFirst(5).trimmingCharacters(in: .whitespaces)
                        guard let last = steps.indices.last, !inEpilogue else {
                            throw error(number, "a ```file block belongs in a step ('## Step N: …')")
                        }
                        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                            throw error(number, "a ```file block names a file inside the lab, e.g. ```file lb-01/haproxy.cfg")
                        }
                        steps[last].files.append(LessonFile(path: path, text: ""))
                    }
                    if info == "stacklab" {
                        // An empty block is a mistake: look ahead for its end.
                        var look = index
                        var commands = 0
                        while look < lines.count {
                            let t = lines[look].trimmingCharacters(in: .whitespaces)
                            if t.hasPrefix(marker) && t.allSatisfy({ $0 == marker.first }) { break }
                            if !t.isEmpty && !t.hasPrefix("#") { commands += 1 }
                            look += 1
                        }
                        if look >= lines.count { throw error(number, "this ``` block is never closed") }
                        if commands == 0 { throw error(number, "this ```stacklab block has no commands (one command a line)") }
                    } else if !lines[index...].contains(where: { l in
                        let t = l.trimmingCharacters(in: .whitespaces)
                        return t.hasPrefix(marker) && t.allSatisfy({ $0 == marker.first })
                    }) {
                        throw error(number, "this ``` block is never closed")
                    }
                    if info != "stacklab" { appendProse(line) }
                    continue
                }
                if trimmed.hasPrefix("# ") && !trimmed.hasPrefix("## ") {
                    try closeKey()
                    guard title == nil else { throw error(number, "a lesson has one title ('# …'); steps are '## Step N: …'") }
                    guard steps.isEmpty, goal.trimmed.isEmpty else { throw error(number, "the title ('# …') comes first") }
                    title = String(trimmed.dropFirst(2)).trimmed
                    titleLine = number
                    continue
                }
                if trimmed.hasPrefix("## ") {
                    try closeKey()
                    guard title != nil else { throw error(number, "a lesson starts with its title: '# Title'") }
                    let heading = String(trimmed.dropFirst(3)).trimmed
                    if let m = heading.wholeMatch(of: #/Step (\d+)\s*[:.—-]\s*(.+)/#) {
                        let n = Int(m.1) ?? 0
                        guard n == steps.count + 1 else {
                            throw error(number, "this is step \(n), but the step before it was \(steps.count) — number steps 1, 2, 3 … in order")
                        }
                        steps.append(Step(number: n, title: String(m.2).trimmed, prose: "", commands: [], checks: [], hints: [], line: number))
                        inEpilogue = false
                    } else if heading.hasPrefix("Step") {
                        throw error(number, "a step heading is '## Step N: what it does' (got '## \(heading)')")
                    } else {
                        // Any other section ends the steps' text (e.g. "## What you learned").
                        inEpilogue = !steps.isEmpty
                        if !inEpilogue { goal += "\n" + line + "\n" }
                    }
                    continue
                }
                if trimmed.hasPrefix(">") {
                    let inner = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
                    if let m = inner.wholeMatch(of: #/\*\*([A-Za-z ]+):\*\*\s*(.*)/#) {
                        try closeKey()
                        let key = String(m.1)
                        guard LessonParser.keys.contains(key) else {
                            throw error(number, "unknown '**\(key):**' — a lesson knows "
                                + LessonParser.keys.map { "**\($0):**" }.joined(separator: ", "))
                        }
                        openKey = (key, number, String(m.2))
                        continue
                    }
                    if let open = openKey {
                        if inner.isEmpty { try closeKey() } else { openKey = (open.key, open.line, open.text + " " + inner) }
                        continue
                    }
                    appendProse(line)
                    continue
                }
                if trimmed.isEmpty { try closeKey() }
                if openKey != nil { try closeKey() }
                if title == nil && !trimmed.isEmpty { throw error(number, "a lesson starts with its title: '# Title'") }
                appendProse(line)
            }
            try closeKey()
            if let open = fence { throw error(open.line, "this ``` block is never closed") }
        }

        mutating func appendProse(_ line: String) {
            if inEpilogue { return }
            if let last = steps.indices.last { steps[last].prose += line + "\n" } else if title != nil { goal += line + "\n" }
        }

        mutating func closeKey() throws(LessonError) {
            guard let (key, line, raw) = openKey else { return }
            openKey = nil
            let text = raw.trimmed
            switch key {
            case "Predict", "Answers", "Observe", "Ends", "Wait for":
                guard let last = steps.indices.last, !inEpilogue else {
                    throw error(line, "**\(key):** belongs in a step ('## Step N: …')")
                }
                guard !text.isEmpty else { throw error(line, "**\(key):** is empty") }
                guard stepKeys[last]?[key] == nil else { throw error(line, "a step has one **\(key):**") }
                stepKeys[last, default: [:]][key] = (line, text)
            case "Check", "Hint":
                guard let last = steps.indices.last, !inEpilogue else {
                    throw error(line, "**\(key):** belongs in a step ('## Step N: …')")
                }
                if key == "Hint" {
                    guard !text.isEmpty else { throw error(line, "this hint is empty") }
                    steps[last].hints.append(text)
                } else {
                    // Markdown emphasis around the whole check reads well on GitHub; the runner ignores it.
                    var check = text
                    while check.hasPrefix("*") && check.hasSuffix("*") && check.count > 2 { check = String(check.dropFirst().dropLast()) }
                    guard let parsed = Check.parse(check) else {
                        throw error(line, "cannot read this check: '\(text)' — a check is one of: \(Check.forms)")
                    }
                    steps[last].checks.append(parsed)
                }
            default:
                break
            }
        }
    }
}

extension LessonParser {
    static let keys = ["Check", "Hint", "Predict", "Answers", "Observe", "Ends", "Wait for"]
}

extension LessonParser.Parser {
    /// Turns each step's Predict/Answers/Observe, Ends and Wait for into what the step does.
    mutating func resolveStepKeys() throws(LessonError) {
        for (index, keys) in stepKeys.sorted(by: { $0.key < $1.key }) {
            let number = steps[index].number
            if let predict = keys["Predict"] {
                guard let answers = keys["Answers"] else {
                    throw error(predict.line, "step \(number) asks a question: add '> **Answers:** a · b' with the answers to choose from")
                }
                guard let observe = keys["Observe"] else {
                    throw error(predict.line, "step \(number) asks a question: add '> **Observe:** …', what the run shows (\(Observation.forms))")
                }
                guard let observation = Observation.parse(observe.text) else {
                    throw error(observe.line, "cannot read what to observe: '\(observe.text)' — one of: \(Observation.forms)")
                }
                let choices = answers.text.split(separator: "·").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if let problem = observation.problem(with: choices) { throw error(answers.line, problem) }
                steps[index].prediction = Prediction(question: predict.text, answers: choices, observation: observation)
            } else if let stray = keys["Answers"] ?? keys["Observe"] {
                throw error(stray.line, "**Answers:** and **Observe:** go with a **Predict:** question")
            }
            if let ends = keys["Ends"] {
                guard let m = ends.text.wholeMatch(of: #/after `([^`]+)`/#) else {
                    throw error(ends.line, "**Ends:** names one of the step's commands: > **Ends:** after `status`")
                }
                let wanted = collapsingSpaces(String(m.1))
                guard let at = steps[index].commands.lastIndex(where: { collapsingSpaces($0) == wanted }) else {
                    throw error(ends.line, "'\(wanted)' is not one of step \(number)'s commands")
                }
                steps[index].endsAfter = at
            }
            if let wait = keys["Wait for"] {
                guard let check = Check.parse(wait.text) else {
                    throw error(wait.line, "cannot read what to wait for: '\(wait.text)' — a check on the lab, e.g. the replica has the new post")
                }
                guard check.readsTheLab else {
                    throw error(wait.line, "a wait is for the lab to get somewhere (lb-01 sees web-01 DOWN, the replica has the new post), not for a command")
                }
                steps[index].waitFor = [check]
            }
        }
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
