import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// The lab stays up whatever it is sent. Each test runs a few seconds from a fixed seed in `make test`; `make fuzz`
/// runs them for minutes from a new seed (see FuzzBudget).
@Suite("The lab stays up whatever it is sent", .runsALab)
struct LabStaysUpTests {
    @Test func theFuzzLabAnswersAGoodRequest() async throws {
        let lab = try await FuzzLab.start()
        let answers = try await lab.answersAGoodRequest()
        #expect(answers)
        await lab.stop()
    }
}
