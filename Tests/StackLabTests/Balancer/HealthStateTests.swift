import Testing
@testable import StackLab

@Suite("HealthState: HAProxy's rise/fall counter")
struct HealthStateTests {
    @Test func killedServerGoesDownAfterFallChecks() {
        var health = HealthState(rise: 2, fall: 3)
        health.record(.layer7OK)
        #expect(health.statusWord == "UP")
        #expect(health.record(.layer4Connection) == nil)
        #expect(health.statusWord == "UP 2/3")
        #expect(health.record(.layer4Connection) == nil)
        #expect(health.statusWord == "UP 1/3")
        #expect(health.record(.layer4Connection) == .wentDown)
        #expect(health.statusWord == "DOWN")
        #expect(!health.isUp)
    }

    @Test func revivedServerComesBackAfterRiseChecks() {
        var health = HealthState(rise: 2, fall: 3)
        for _ in 0..<4 { health.record(.layer4Connection) }
        #expect(health.statusWord == "DOWN")
        #expect(health.record(.layer7OK) == nil)
        #expect(health.statusWord == "DOWN 1/2")
        #expect(health.record(.layer7OK) == .wentUp)
        #expect(health.statusWord == "UP")
    }

    @Test func newServerStartsAtUpOneThirdAndFallsAtItsFirstFailedCheck() {
        var health = HealthState(rise: 2, fall: 3)
        #expect(health.statusWord == "UP 1/3")
        #expect(health.lastResult == .initial)
        #expect(health.record(.layer4Connection) == .wentDown)
    }

    @Test func aFailureWhileComingBackStartsOver() {
        var health = HealthState(rise: 3, fall: 2)
        health.record(.layer4Connection)
        health.record(.layer7OK)
        health.record(.layer7OK)
        #expect(health.statusWord == "DOWN 2/3")
        health.record(.layer7Timeout)
        #expect(health.statusWord == "DOWN")
    }
}

@Suite("ServerPicker: HAProxy's balance algorithms")
struct ServerPickerTests {
    private func candidates(_ weights: [Int], up: [Bool]? = nil, backup: [Bool]? = nil) -> [ServerPicker.Candidate] {
        weights.enumerated().map { index, weight in
            ServerPicker.Candidate(index: index, weight: weight, backup: backup?[index] ?? false, usable: up?[index] ?? true)
        }
    }

    @Test func equalWeightsTakeTurnsInDeclarationOrder() {
        var picker = ServerPicker(balance: .roundrobin, serverCount: 3)
        let order = (0..<6).compactMap { _ in picker.pick(candidates([1, 1, 1])) }
        #expect(order == [0, 1, 2, 0, 1, 2])
    }

    @Test func weightsAreHonouredSmoothly() {
        var picker = ServerPicker(balance: .roundrobin, serverCount: 2)
        let order = (0..<6).compactMap { _ in picker.pick(candidates([2, 1])) }
        #expect(order == [0, 1, 0, 0, 1, 0])
    }

    @Test func weightZeroTakesNoTraffic() {
        var picker = ServerPicker(balance: .roundrobin, serverCount: 2)
        let order = (0..<4).compactMap { _ in picker.pick(candidates([0, 1])) }
        #expect(order == [1, 1, 1, 1])
    }

    @Test func backupServesOnlyWhenNoActiveServerIsUp() {
        var picker = ServerPicker(balance: .roundrobin, serverCount: 2)
        #expect(picker.pick(candidates([1, 1], backup: [false, true])) == 0)
        #expect(picker.pick(candidates([1, 1], up: [false, true], backup: [false, true])) == 1)
        #expect(picker.pick(candidates([1, 1], up: [false, false], backup: [false, true])) == nil)
    }

    @Test func leastconnPrefersTheLeastBusyServer() {
        var picker = ServerPicker(balance: .leastconn, serverCount: 2)
        let list = [ServerPicker.Candidate(index: 0, weight: 1, backup: false, usable: true, activeConnections: 5),
                    ServerPicker.Candidate(index: 1, weight: 1, backup: false, usable: true, activeConnections: 1)]
        #expect(picker.pick(list) == 1)
    }

    @Test func sourceKeepsAClientOnOneServer() {
        var picker = ServerPicker(balance: .source, serverCount: 2)
        let first = picker.pick(candidates([1, 1]), clientAddress: "127.0.0.1")
        for _ in 0..<5 { #expect(picker.pick(candidates([1, 1]), clientAddress: "127.0.0.1") == first) }
    }
}
