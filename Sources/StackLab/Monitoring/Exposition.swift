/// A set of labels, as Prometheus keys a series: name → value (`__name__` holds the metric name).
public typealias Labels = [String: String]

/// One sample read from a `/metrics` page.
public struct Sample: Sendable, Equatable {
    public var name: String
    public var labels: Labels
    public var value: Double

    public init(name: String, labels: Labels = [:], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

/// Reads the Prometheus text exposition format (version 0.0.4): comments and blank lines skipped, samples
/// `name{label="value",…} value [timestamp]`.
public enum ExpositionParser {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [Sample] {
        var samples: [Sample] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingPrefixSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            samples.append(try parseSample(line, line: number + 1))
        }
        return samples
    }

    private static func parseSample(_ line: Substring, line number: Int) throws(ParseError) -> Sample {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " ", line[index] != "\t" { index = line.index(after: index) }
        let name = String(line[..<index])
        guard !name.isEmpty else { throw ParseError(line: number, reason: "no metric name") }
        var labels: Labels = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while true {
                while index < line.endIndex, line[index] == " " || line[index] == "," { index = line.index(after: index) }
                guard index < line.endIndex else { throw ParseError(line: number, reason: "unterminated label set") }
                if line[index] == "}" {
                    index = line.index(after: index)
                    break
                }
                let nameStart = index
                while index < line.endIndex, line[index] != "=" { index = line.index(after: index) }
                let labelName = String(line[nameStart..<index]).trimmingCharacters(in: " ")
                guard index < line.endIndex else { throw ParseError(line: number, reason: "label \(labelName) has no value") }
                index = line.index(after: index)
                guard index < line.endIndex, line[index] == "\"" else { throw ParseError(line: number, reason: "label value not quoted") }
                index = line.index(after: index)
                var value = ""
                while true {
                    guard index < line.endIndex else { throw ParseError(line: number, reason: "unterminated label value") }
                    let char = line[index]
                    if char == "\"" { break }
                    if char == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { throw ParseError(line: number, reason: "bad escape") }
                        switch line[index] {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: value.append("\\"); value.append(line[index])
                        }
                    } else {
                        value.append(char)
                    }
                    index = line.index(after: index)
                }
                index = line.index(after: index)
                labels[labelName] = value
            }
        }
        let rest = line[index...].split(separator: " ", omittingEmptySubsequences: true)
        guard let valueText = rest.first, let value = parseValue(valueText) else {
            throw ParseError(line: number, reason: "no value for \(name)")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result = result.dropFirst() }
        while let last = result.last, last == "\r" || last == " " { result = result.dropLast() }
        return result
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var result = Substring(self)
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return String(result)
    }
}
