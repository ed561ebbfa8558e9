/// A problem in a lab file, reported the same way everywhere: `web-01/nginx.conf:12: "proxy_pas": unknown directive`.
///
/// Every directive outside the supported subset, every typo and every bad value is one of these — never ignored.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as the learner knows it: relative to the lab folder (`lb-01/haproxy.cfg`).
    public var file: String
    /// 1-based line number; 0 when the problem is the file as a whole (missing, unreadable).
    public var line: Int
    /// The directive or word at fault (`proxy_pas`, `inter`), empty when there is none.
    public var directive: String
    /// A short reason a learner can act on.
    public var reason: String

    public init(file: String, line: Int, directive: String, reason: String) {
        self.file = file
        self.line = line
        self.directive = directive
        self.reason = reason
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        // A runaway word (a line of 70,000 letters) is named by its start, so the error stays readable.
        let shown = directive.count > 64 ? String(directive.prefix(60)) + "…" : directive
        return directive.isEmpty ? "\(place): \(reason)" : "\(place): \"\(shown)\": \(reason)"
    }
}
