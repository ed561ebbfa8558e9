/// The result of one health check, with HAProxy's check_status codes.
public enum CheckResult: String, Sendable, Equatable {
    /// No check run yet.
    case initial = "INI"
    case layer4OK = "L4OK"
    case layer4Connection = "L4CON"
    case layer4Timeout = "L4TOUT"
    case layer7OK = "L7OK"
    case layer7WrongStatus = "L7STS"
    case layer7Timeout = "L7TOUT"
    case layer7InvalidResponse = "L7RSP"

    public var passed: Bool { self == .layer4OK || self == .layer7OK }

    /// HAProxy's words in state-change log lines (`reason: Layer4 connection problem`).
    public var reason: String {
        switch self {
        case .initial: "Initializing"
        case .layer4OK: "Layer4 check passed"
        case .layer4Connection: "Layer4 connection problem"
        case .layer4Timeout: "Layer4 timeout"
        case .layer7OK: "Layer7 check passed"
        case .layer7WrongStatus: "Layer7 wrong status"
        case .layer7Timeout: "Layer7 timeout"
        case .layer7InvalidResponse: "Layer7 invalid response"
        }
    }
}

/// A backend server's health as HAProxy counts it: a counter from 0 to rise+fall-1; the server is UP while the
/// counter is at least `rise`. Failed checks walk an UP server down (`UP` → `UP 2/3` → `UP 1/3` → `DOWN`), passed
/// checks walk a DOWN server up (`DOWN` → `DOWN 1/2` → `UP`).
public struct HealthState: Sendable, Equatable {
    public let rise: Int
    public let fall: Int
    public private(set) var health: Int
    public private(set) var isUp: Bool
    public private(set) var lastResult: CheckResult = .initial

    public enum Transition: Sendable, Equatable {
        case wentDown
        case wentUp
    }

    /// A new server starts UP with the counter at `rise` (HAProxy shows `UP 1/3` until the first check passes), so a
    /// server that is dead from the start goes DOWN at its first failed check.
    public init(rise: Int = 2, fall: Int = 3) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.health = max(1, rise)
        self.isUp = true
    }

    private var maximum: Int { rise + fall - 1 }

    @discardableResult
    public mutating func record(_ result: CheckResult) -> Transition? {
        lastResult = result
        if result.passed {
            if isUp {
                health = maximum
                return nil
            }
            health += 1
            if health >= rise {
                isUp = true
                health = maximum
                return .wentUp
            }
            return nil
        }
        if isUp {
            health -= 1
            if health < rise {
                isUp = false
                health = 0
                return .wentDown
            }
            return nil
        }
        health = 0
        return nil
    }

    /// The status column of HAProxy's stats: `UP`, `UP 2/3`, `DOWN`, `DOWN 1/2`.
    public var statusWord: String {
        if isUp {
            return health >= maximum ? "UP" : "UP \(health - rise + 1)/\(fall)"
        }
        return health == 0 ? "DOWN" : "DOWN \(health)/\(rise)"
    }

    /// Between the two steady states (checks use `fastinter` then).
    public var isChanging: Bool { isUp ? health < maximum : health > 0 }
}
