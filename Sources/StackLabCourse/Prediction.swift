import Foundation
import StackLab

/// "Predict, then observe": a question a step asks before its commands run, the answers to choose from, and what to
/// read from the live run to grade the answer — never a fixed answer, so the lab itself says who was right.
///
/// ```markdown
/// > **Predict:** Does the site still work without lb-01?
/// > **Answers:** yes · no
/// > **Observe:** whether the requests succeeded
/// ```
public struct Prediction: Sendable, Equatable {
    public var question: String
    public var answers: [String]
    public var observation: Observation

    public init(question: String, answers: [String], observation: Observation) {
        self.question = question
        self.answers = answers
        self.observation = observation
    }

    /// The answer a learner's words choose (`Yes`, `6`, `6 s`), or nil when they choose none.
    public func answer(for input: String) -> String? {
        let words = input.trimmingCharacters(in: .whitespaces).lowercased()
        guard !words.isEmpty else { return nil }
        if let exact = answers.first(where: { $0.lowercased() == words }) { return exact }
        if let number = Self.number(words) { return answers.first { Self.number($0) == number } }
        return nil
    }

    /// Whether the answer was right about what happened; nil when the run could not tell.
    public func grade(_ answer: String, against observed: Observed) -> Bool? {
        guard let value = observed.value else { return nil }
        switch observation.answerKind {
        case .number, .seconds:
            guard let number = observed.number else { return answer.lowercased() == value.lowercased() }
            // The nearest of the answers is the right one (an observed 3 of 8 failures is "about 4").
            let numbers = answers.compactMap { a in Self.number(a).map { (a, $0) } }
            guard let nearest = numbers.min(by: { abs($0.1 - number) < abs($1.1 - number) }) else { return nil }
            return nearest.0 == answer
        default:
            return answer.lowercased() == value.lowercased()
        }
    }

    /// `6`, `6 s`, `6s`, `about 6` → 6.
    static func number(_ text: String) -> Double? {
        var words = text.lowercased().trimmingCharacters(in: .whitespaces)
        for prefix in ["about ", "~"] where words.hasPrefix(prefix) { words = String(words.dropFirst(prefix.count)) }
        for suffix in [" seconds", " second", " s", "s"] where words.hasSuffix(suffix) { words = String(words.dropLast(suffix.count)) }
        return Double(words.trimmingCharacters(in: .whitespaces))
    }
}

/// What a prediction is graded on, read from the step's facts (as checks are).
public enum Observation: Sendable, Equatable {
    /// yes (every request answered), no (none), some.
    case requestsSucceeded
    /// reads, writes, both or none: which kinds of request got an answer below 400.
    case whichRequestsWorked
    /// How many of the step's requests failed.
    case failedRequests
    /// The last curl's HTTP status.
    case lastStatus
    /// yes or no.
    case lastReadShowedNewPost
    /// yes or no: whether a tapped message held the text.
    case tapShowed(String)
    /// Seconds from the last kill (or stop, or hang) to the first alert that fired after it, or never.
    case secondsToFirstAlert

    public enum AnswerKind: Sendable, Equatable { case yesNo, yesNoSome, readsWrites, number, status, seconds }

    public var answerKind: AnswerKind {
        switch self {
        case .requestsSucceeded: .yesNoSome
        case .whichRequestsWorked: .readsWrites
        case .failedRequests: .number
        case .lastStatus: .status
        case .lastReadShowedNewPost, .tapShowed: .yesNo
        case .secondsToFirstAlert: .seconds
        }
    }

    public static let forms = """
        whether the requests succeeded (yes · no · some) · which requests worked (reads · writes · both · none) · \
        the number of failed requests (numbers) · the status of the last request (statuses) · \
        whether the last read showed the new post (yes · no) · whether the tap showed "TEXT" (yes · no) · \
        the seconds from the kill to the first alert (numbers, never)
        """

    public static func parse(_ raw: String) -> Observation? {
        let text = collapsingSpaces(raw)
        switch text {
        case "whether the requests succeeded": return .requestsSucceeded
        case "which requests worked": return .whichRequestsWorked
        case "the number of failed requests": return .failedRequests
        case "the status of the last request": return .lastStatus
        case "whether the last read showed the new post": return .lastReadShowedNewPost
        case "the seconds from the kill to the first alert": return .secondsToFirstAlert
        default: break
        }
        if let m = text.wholeMatch(of: #/whether the tap showed "(.+)"/#) { return .tapShowed(String(m.1)) }
        return nil
    }

    /// Why these answers cannot be graded on this observation, or nil when they can.
    public func problem(with answers: [String]) -> String? {
        guard answers.count >= 2 else { return "give at least two answers, separated by ·" }
        let words = answers.map { $0.lowercased() }
        func only(_ allowed: [String]) -> String? {
            let wrong = words.filter { !allowed.contains($0) }
            return wrong.isEmpty ? nil : "this observation answers \(allowed.joined(separator: " · ")), not \(wrong.joined(separator: ", "))"
        }
        switch answerKind {
        case .yesNo: return only(["yes", "no"])
        case .yesNoSome: return only(["yes", "no", "some"])
        case .readsWrites: return only(["reads", "writes", "both", "none"])
        case .number:
            return answers.allSatisfy { Prediction.number($0) != nil } ? nil : "every answer is a number here"
        case .seconds:
            return answers.allSatisfy { Prediction.number($0) != nil || $0.lowercased() == "never" } ? nil
                : "every answer is a number of seconds, or never"
        case .status:
            return answers.allSatisfy { $0.wholeMatch(of: #/\d{3}/#) != nil } ? nil : "every answer is an HTTP status, like 503"
        }
    }
}

/// What the live run showed: the value to grade against (nil when the run cannot tell), and the words for it.
public struct Observed: Sendable, Equatable {
    public var value: String?
    public var number: Double?
    public var words: String
    public init(value: String?, number: Double? = nil, words: String) {
        self.value = value
        self.number = number
        self.words = words
    }
}

@MainActor
extension Observation {
    public func observe(in context: any CheckContext, now: Date = Date()) -> Observed {
        let step = context.facts.inStep
        switch self {
        case .requestsSucceeded:
            let tally = step.tally
            guard tally.total > 0 else { return Observed(value: nil, words: "no requests were sent") }
            let value = tally.succeeded == tally.total ? "yes" : tally.succeeded == 0 ? "no" : "some"
            let failures = tally.failed > 0 ? " (\(tally.failureWords))" : ""
            return Observed(value: value, words: "\(tally.succeeded) of \(tally.total) requests answered\(failures)")

        case .whichRequestsWorked:
            var reads: [RequestOutcome] = [], writes: [RequestOutcome] = []
            for request in step.requests { if request.isRead { reads.append(request.outcome) } else { writes.append(request.outcome) } }
            for load in step.loads {
                let outcomes = load.statuses.map { RequestOutcome.status($0.key) } + load.failures.map(\.key)
                if load.method == "GET" || load.method == "HEAD" { reads += outcomes } else { writes += outcomes }
            }
            guard !reads.isEmpty || !writes.isEmpty else { return Observed(value: nil, words: "no requests were sent") }
            let readsWork = reads.contains { $0.succeeded }, writesWork = writes.contains { $0.succeeded }
            let value = readsWork && writesWork ? "both" : readsWork ? "reads" : writesWork ? "writes" : "none"
            func summary(_ outcomes: [RequestOutcome]) -> String {
                outcomes.isEmpty ? "none sent" : Array(Set(outcomes.map(\.description))).sorted().joined(separator: ", ")
            }
            return Observed(value: value, words: "reads got \(summary(reads)); writes got \(summary(writes))")

        case .failedRequests:
            let tally = step.tally
            guard tally.total > 0 else { return Observed(value: nil, words: "no requests were sent") }
            let failures = tally.failed > 0 ? " (\(tally.failureWords))" : ""
            return Observed(value: String(tally.failed), number: Double(tally.failed),
                            words: "\(tally.failed) of \(tally.total) failed\(failures)")

        case .lastStatus:
            guard let last = step.requests.last else { return Observed(value: nil, words: "no request was sent with curl") }
            return Observed(value: last.outcome.description, words: last.words)

        case .lastReadShowedNewPost:
            guard let (post, after) = context.facts.newPost else { return Observed(value: nil, words: "no post was made") }
            guard let read = after.requests.last(where: { $0.isRead && $0.path.hasPrefix("/api/posts") }),
                  case .status(let code) = read.outcome, code < 400 else {
                return Observed(value: nil, words: "the posts were not read")
            }
            let listed = post.isListed(in: read.body)
            let source = read.hops.first { $0.role != nil }.map { ", read from \($0.process)" } ?? ""
            return Observed(value: listed ? "yes" : "no", words: "\(post.words) \(listed ? "was" : "was not") in the list\(source)")

        case .tapShowed(let text):
            let taps = step.taps
            guard !taps.isEmpty else { return Observed(value: nil, words: "the tap showed no message") }
            let found = taps.contains { $0.text.contains(text) }
            return Observed(value: found ? "yes" : "no",
                            words: found ? "\"\(text)\" crossed the wire readable" : "none of \(taps.count) messages shows \"\(text)\" (\(Set(taps.map(\.kind)).sorted().joined(separator: ", ")))")

        case .secondsToFirstAlert:
            let entries = context.facts.entries
            guard let kill = entries.last(where: { entry in
                if case .fault(let fault) = entry.fact { return ["crash", "stop", "hang"].contains(fault.fault) }
                return false
            }), case .fault(let fault) = kill.fact else { return Observed(value: nil, words: "nothing was killed") }
            let alert = entries.first { entry in
                guard entry.time >= kill.time, case .event(.alert(_, _, "firing")) = entry.fact else { return false }
                return true
            }
            if let alert, case .event(.alert(let name, let instance, _)) = alert.fact {
                let seconds = alert.time.timeIntervalSince(kill.time)
                return Observed(value: String(format: "%.1f s", seconds), number: seconds,
                                words: "\(fault.verb) \(fault.target) at \(Self.clock(kill.time)), "
                                    + "\(name) firing\(instance.map { " for \($0)" } ?? "") at \(Self.clock(alert.time))")
            }
            let elapsed = Int(now.timeIntervalSince(kill.time))
            let nobody = context.monitor == nil ? "no monitor is running" : "no alert has fired"
            return Observed(value: "never", words: "nobody noticed: \(fault.target) has been down for \(elapsed) s and \(nobody)")
        }
    }

    static func clock(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: date)
    }
}

extension FaultFact {
    /// The verb the learner typed for this fault.
    var verb: String { fault == "crash" ? "kill" : fault }
}
