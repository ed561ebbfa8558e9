import Testing
@testable import StackLab

@Suite struct TopologyParserTests {
    func parse(_ text: String) throws -> Topology { try TopologyParser.parse(text, file: "lab.conf") }

    @Test func builtInLabParses() throws {
        let topology = try parse(try builtInFile("lab.conf"))
        #expect(topology.name == "foobar")
        #expect(topology.servers == [
            Topology.Server(name: "lb-01", address: "127.0.1.1", processes: [.haproxy], line: 6),
            Topology.Server(name: "web-01", address: "127.0.1.11", processes: [.nginx, .gunicorn, .mysql], line: 7),
            Topology.Server(name: "web-02", address: "127.0.1.12", processes: [.nginx, .gunicorn, .mysql], line: 8),
        ])
    }

    @Test func addressOutsideLoopbackIsAnErrorSayingWhy() throws {
        let error = configError { _ = try parse("lab x\nserver web-01 10.0.0.5 nginx\n") }
        #expect(error?.line == 2)
        #expect(error?.reason.contains("stacklab listens on loopback only (127.0.0.0/8)") == true)
    }

    @Test func processTypoSuggestsTheNearest() throws {
        let error = configError { _ = try parse("lab x\nserver web-01 127.0.1.11 ngnix\n") }
        #expect(error?.reason == "unknown process \"ngnix\" — did you mean \"nginx\"?")
    }

    @Test(arguments: [
        "lab x\nserver a 127.0.1.1 nginx\nserver a 127.0.1.2 nginx",
        "lab x\nserver a 127.0.1.1 nginx\nserver b 127.0.1.1 nginx",
        "lab x\nserver a 127.0.1.1 nginx nginx",
        "lab x\nserver a 127.0.1.1",
        "lab x\nserver a 127.0.1.300 nginx",
        "lab x\nservr a 127.0.1.1 nginx",
        "lab x\nlab y",
    ])
    func badLineIsAnErrorOnItsLine(text: String) throws {
        let error = configError { _ = try parse(text) }
        #expect(error.map { (2...3).contains($0.line) } == true)
    }

    @Test func labWithoutServersIsAnError() throws {
        let error = configError { _ = try parse("lab x\n# nothing yet\n") }
        #expect(error?.directive == "server")
    }
}
