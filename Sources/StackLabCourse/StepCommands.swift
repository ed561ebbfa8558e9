/// Which of a step's commands the learner has typed, in order, up to the one that ends the step: the step's checks
/// run once that one has been typed, never on the first command of several.
///
/// A typed command counts for the next command of the step when it is the same (runs of spaces aside), or the same
/// verb with other words — the learner's own post, another number of requests: the checks then say whether it did
/// what the step teaches. Anything else (a typo, another step's command) is passed over.
public struct StepCommands: Sendable, Equatable {
    /// The step's commands up to the one that ends it, as compared.
    public let expected: [String]
    public private(set) var typed = 0

    public init(_ step: Step) {
        expected = step.commands.prefix(step.endingCommand + 1).map { collapsingSpaces($0) }
    }

    /// The ending command has been typed (from then on every command runs the checks again).
    public var reachedEnd: Bool { typed >= expected.count }

    /// The command the step waits for next, as the lesson writes it.
    public var next: String? { typed < expected.count ? expected[typed] : nil }

    /// Notes a command the learner ran; true when it counted for the step.
    @discardableResult
    public mutating func note(_ command: String) -> Bool {
        guard let next else { return true }
        let text = collapsingSpaces(command)
        if text == next || Self.verb(text) == Self.verb(next) {
            typed += 1
            return true
        }
        return false
    }

    static func verb(_ command: String) -> Substring { command.split(separator: " ").first ?? "" }
}
