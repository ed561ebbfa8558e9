import Foundation
import NIOCore
import NIOPosix
import Testing
import StackLabTestSupport
@testable import StackLab

/// A port plus `--port-base` past 65535 is an error naming the port, its file and the base — never a port wrapped
/// round to another one (67000 shown, 1464 listening).
@Suite(.runsALab) struct PortPlanTests {
    @Test func aBaseThatPushesAPortPast65535IsAnErrorBeforeAnythingStarts() async throws {
        let definition = try LabDefinition.load(directory: #require(LabDefinition.builtIn(named: "foobar")).path)
        let error = await #expect(throws: PortPlanError.self) {
            let lab = try await Lab.start(definition, options: LabOptions(portOffset: 60_000, threads: 1))
            await lab.shutdown()
        }
        #expect(error?.description == "port 8080 (lb-01/haproxy.cfg:18) with --port-base 60000 is 68080, outside the TCP ports "
            + "1 to 65535: use a --port-base of at most 56422")
        // 56422 + 9113 (nginx's metrics, the lab's highest port) is 65535: the plan fits.
        #expect(throws: Never.self) { try Lab.checkPortPlan(definition, options: LabOptions(portOffset: 56_422)) }
        #expect(throws: PortPlanError.self) { try Lab.checkPortPlan(definition, options: LabOptions(portOffset: 56_423)) }
        #expect(throws: PortPlanError.self) { try Lab.checkPortPlan(definition, options: LabOptions(portOffset: -8_080)) }
        #expect(throws: PortPlanError.self) { try Lab.checkPortPlan(definition, options: LabOptions(portOffset: Int.max)) }
    }

    @Test func aListenerRefusesAPortPast65535() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let network = LabNetwork(servers: [("web-01", "127.0.1.11")], portOffset: 50_000)
        let listener = Listener(host: "127.0.1.11", port: network.port(17_000), serverName: "web-01", processName: "nginx", group: group,
                                network: network, faults: FaultSwitch()) { $0.eventLoop.makeSucceededVoidFuture() }
        let error = await #expect(throws: PortPlanError.self) { try await listener.start() }
        #expect(error?.description == "port 17000 (web-01 nginx) with --port-base 50000 is 67000, outside the TCP ports 1 to 65535: "
            + "use a --port-base of at most 48535")
        #expect(!listener.isListening)
    }

    /// Whatever asks for it, no socket listens outside 127.0.0.0/8 (the lab's files are refused earlier, with file:line).
    @Test(arguments: ["0.0.0.0", "192.0.2.10", "::", "localhost"])
    func aListenerRefusesAnAddressOutsideLoopback(host: String) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let network = LabNetwork(servers: [("web-01", "127.0.1.11")], portOffset: 0)
        let listener = Listener(host: host, port: 18_080, serverName: "web-01", processName: "nginx", group: group,
                                network: network, faults: FaultSwitch()) { $0.eventLoop.makeSucceededVoidFuture() }
        let error = await #expect(throws: ListenError.self) { try await listener.start() }
        #expect(error?.description == "cannot listen on \(host):18080: stacklab listens on loopback only (127.0.0.0/8), each server on its own address")
        #expect(!listener.isListening)
    }

    @Test func aDialerRefusesAPortPast65535() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let network = LabNetwork(servers: [("web-01", "127.0.1.11")], portOffset: 50_000)
        let dialer = Dialer(network: network, fromServer: "internet", sourceAddress: LabNetwork.internetAddress)
        let error = await #expect(throws: DialError.self) {
            _ = try await dialer.connect(host: "127.0.1.11", configuredPort: 17_000, on: group.next(), timeoutMilliseconds: 1000) {
                $0.eventLoop.makeSucceededVoidFuture()
            }.get()
        }
        #expect(error == .refused)
    }
}
