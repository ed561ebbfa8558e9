import Foundation
import Testing
import StackLabTestSupport
@testable import StackLabCourse

/// Checks on what the verbs reported, from recorded results: each passes on the facts that make it true and fails,
/// saying why, on the ones that do not.
@Suite @MainActor struct FactCheckTests {
    func outcome(_ check: String, lesson: [Fact] = [], step: [Fact]) throws -> CheckOutcome {
        let parsed = try #require(Check.parse(check), "\(check)")
        #expect(!parsed.readsTheLab)
        return CheckEvaluator.evaluateFacts(parsed, in: FakeContext(facts: FactLog(lesson: lesson, step: step)))
    }

    static let evenLoad = Fact.load(LoadFact(statuses: [200: 1000], servedBy: ["web-01": 500, "web-02": 500]))

    @Test func theLoadSplitIsReadFromTheCountsNotFromTheirPrintedForm() throws {
        // 500/500 of 1000: the split the old printed-text check ("web-02 100 (50%)") failed on.
        let even = try outcome("requests split evenly between web-01 and web-02 (±5 %)", step: [Self.evenLoad])
        #expect(even.passed)
        #expect(even.why == "web-01 500 (50%), web-02 500 (50%)")
        let skewed = Fact.load(LoadFact(statuses: [200: 200], servedBy: ["web-01": 150, "web-02": 50]))
        let uneven = try outcome("requests split evenly between web-01 and web-02 (±5 %)", step: [skewed])
        #expect(!uneven.passed)
        #expect(uneven.why == "served by web-01 150 (75%), web-02 50 (25%)")
        #expect(try outcome("web-01 served 75 % of the requests (±5 %)", step: [skewed]).passed)
        #expect(!(try outcome("web-01 served 100 % of the requests", step: [skewed]).passed))
        // A load and a curl together: 3 of 4 to web-01 is within 75 % ± 5 %.
        let mixed: [Fact] = [.load(LoadFact(statuses: [200: 3], servedBy: ["web-01": 2, "web-02": 1])),
                             .request(RequestFact(method: "GET", path: "/", outcome: .status(200), servedBy: "web-01"))]
        #expect(try outcome("web-01 served 75 % of the requests (±5 %)", step: mixed).passed)
        #expect(try outcome("requests were served by web-01 and web-02", step: mixed).passed)
        let one = try outcome("requests were served by web-01 and web-02", step: [skewed, .load(LoadFact(statuses: [200: 1], servedBy: ["web-01": 1]))])
        #expect(one.passed)
        let none = try outcome("requests split evenly between web-01 and web-02", step: [])
        #expect(!none.passed && none.why.contains("no requests were answered"))
    }

    @Test func failuresAreCountedByKindRefusalsIncluded() throws {
        // Lesson 6, step 1: after `kill lb-01`, one curl and twenty load requests are refused.
        let refused: [Fact] = [.request(RequestFact(method: "GET", path: "/", outcome: .refused)),
                               .load(LoadFact(failures: [.refused: 20]))]
        let failed = try outcome("at least 20 requests failed", step: refused)
        #expect(failed.passed)
        #expect(failed.why == "21 of 21 failed (connection refused × 21)")
        #expect(!(try outcome("at least 1 request succeeded", step: refused).passed))
        // 503s, timeouts and resets fail too; a 4xx is neither.
        let mixed = Fact.load(LoadFact(statuses: [200: 4, 503: 2, 404: 1], failures: [.timedOut: 1, .reset: 1]))
        let some = try outcome("at least 5 requests failed", step: [mixed])
        #expect(!some.passed)
        #expect(some.why == "4 of 9 requests failed (503 × 2, connection reset × 1, timed out × 1) in this step so far, not yet 5")
        #expect(try outcome("at least 4 requests succeeded", step: [mixed]).passed)
        #expect(!(try outcome("no request failed", step: [mixed]).passed))
        #expect(try outcome("no request failed", step: [Self.evenLoad]).passed)
        #expect(RequestOutcome(loadWords: "connection refused") == .refused)
        #expect(RequestOutcome(loadWords: "timed out (no answer)") == .timedOut)
        #expect(RequestOutcome(loadWords: "closed without answer") == .reset)
        #expect(RequestOutcome(loadWords: "invalid response") == .noAnswer("invalid response"))
    }

    static let post = Fact.request(RequestFact(method: "POST", path: "/api/posts", outcome: .status(201), body: "{\"id\": 7}\n",
                                               sentBody: "author=me&body=where+is%20my post"))
    static func list(_ ids: [Int], from store: String = "web-02/mysql", role: String = "replica") -> Fact {
        let body = "[" + ids.map { "{\"id\": \($0), \"author\": \"me\", \"body\": \"post \($0)\", \"created_at\": \"now\"}" }.joined(separator: ", ") + "]\n"
        return .request(RequestFact(method: "GET", path: "/api/posts", outcome: .status(200), servedBy: "web-01", body: body,
                                    hops: [HopFact(process: "lb-01/haproxy", status: 200), HopFact(process: "web-01/gunicorn", status: 200),
                                           HopFact(process: store, note: "SELECT … FROM posts (read)", role: role)]))
    }

    @Test func aStaleReadIsAReadFromTheReplicaThatDoesNotListTheNewPost() throws {
        let stale = try outcome("the last read from the replica did not show the new post", step: [Self.post, Self.list([6, 5])])
        #expect(stale.passed)
        #expect(stale.why == "post 7 (\"where is my post\") was not in the list (read from web-02/mysql)")
        let fresh = try outcome("the last read from the replica did not show the new post", step: [Self.post, Self.list([7, 6])])
        #expect(!fresh.passed)
        #expect(try outcome("the last read from the replica showed the new post", lesson: [Self.post], step: [Self.list([7, 6])]).passed)
        // A read from the primary is not a read from the replica.
        let primary = try outcome("the last read from the replica did not show the new post",
                                  step: [Self.post, Self.list([6], from: "web-01/mysql", role: "primary")])
        #expect(!primary.passed && primary.why.contains("no read of /api/posts from the replica since post 7"))
        // A read made before the post cannot show it, so it does not count.
        let before = try outcome("the last read did not show the new post", step: [Self.list([6]), Self.post])
        #expect(!before.passed && before.why.contains("since post 7"))
        let nothing = try outcome("the last read showed the new post", step: [Self.list([6])])
        #expect(!nothing.passed && nothing.why == "no post was made in this lesson yet")
    }

    @Test func theLastRequestItsStatusHopsAndRedirect() throws {
        let read = Self.list([1])
        #expect(try outcome("the last request got 200", step: [read]).passed)
        #expect(try outcome("the last request went through haproxy, gunicorn and mysql", step: [read]).passed)
        let notThrough = try outcome("the last request did not go through gunicorn", step: [read])
        #expect(!notThrough.passed)
        #expect(notThrough.why == "it went through gunicorn: lb-01/haproxy → web-01/gunicorn → web-02/mysql")
        let write = Fact.request(RequestFact(method: "POST", path: "/api/posts", outcome: .status(503), reason: "Service Unavailable"))
        #expect(try outcome("the last write got 503", step: [read, write]).passed)
        #expect(try outcome("the last read succeeded", step: [read, write]).passed)
        let wrong = try outcome("the last request succeeded", step: [read, write])
        #expect(!wrong.passed && wrong.why == "the last request was POST /api/posts: 503 Service Unavailable")
        let redirect = Fact.request(RequestFact(method: "GET", path: "/login", outcome: .status(302), location: "https://www.foobar.com/login"))
        #expect(try outcome("the last request was redirected to \"https://\"", step: [redirect]).passed)
        #expect(!(try outcome("the last request was redirected to \"https://\"", step: [read]).passed))
    }

    @Test func sqlResultsByServerAndErrorCode() throws {
        let refused = Fact.sql(SQLFact(server: "web-02", statement: "INSERT …", errorCode: 1290, errorMessage: "read-only"))
        let primary = Fact.sql(SQLFact(server: "web-01", statement: "SELECT id, body FROM foobar.posts", columns: ["id", "body"],
                                       rows: [["7", "where is my post"], ["6", "hello"]]))
        let replica = Fact.sql(SQLFact(server: "web-02", statement: "SELECT id, body FROM foobar.posts", columns: ["id", "body"], rows: [["6", "hello"]]))
        #expect(try outcome("the last sql on web-02 failed with ERROR 1290", step: [refused]).passed)
        #expect(!(try outcome("the last sql on web-02 succeeded", step: [refused]).passed))
        #expect(try outcome("the last sql on web-01 showed the new post", lesson: [Self.post], step: [primary, replica]).passed)
        #expect(try outcome("the last sql on web-02 did not show the new post", lesson: [Self.post], step: [primary, replica]).passed)
        #expect(!(try outcome("the last sql did not show the new post", lesson: [Self.post], step: [replica, primary]).passed))
        #expect(try outcome("the last sql on web-01 showed \"where is\"", step: [primary]).passed)
        let report = Fact.replication([ReplicaFact(store: "web-02/mysql", ioRunning: true, sqlRunning: true, secondsBehindSource: 12)])
        #expect(try outcome("the last replication report showed lag above 0", step: [report]).passed)
        let caughtUp = Fact.replication([ReplicaFact(store: "web-02/mysql", ioRunning: true, sqlRunning: true, secondsBehindSource: 0)])
        #expect(!(try outcome("the last replication report showed lag above 0", step: [report, caughtUp]).passed))
    }

    @Test func tapScanAndCommandsRun() throws {
        let plain = Fact.tap(TapFact(kind: "text", text: "POST /login HTTP/1.1\n\nusername=alice&password=wonderland"))
        let tls = Fact.tap(TapFact(kind: "tls", text: "TLS record: handshake"))
        #expect(try outcome("the tap showed \"password=wonderland\"", step: [plain]).passed)
        #expect(try outcome("the tap did not show \"password=wonderland\"", step: [tls, tls]).passed)
        #expect(try outcome("the tap saw only TLS messages", step: [tls, tls]).passed)
        let mixed = try outcome("the tap saw only TLS messages", step: [tls, plain])
        #expect(!mixed.passed && mixed.why == "1 of 2 tapped messages were text")
        let scan = Fact.scan(ScanFact(server: "web-01", ports: [.init(port: 3306, state: "open"), .init(port: 22, state: "closed")]))
        #expect(try outcome("the last scan found port 3306 open", step: [scan]).passed)
        #expect(!(try outcome("the last scan found port 3306 filtered", step: [scan]).passed))
        #expect(try outcome("you ran `status`", step: [.command("status   --wide")]).passed)
        #expect(try outcome("you ran `sql web-02 SHOW`", step: [.command("sql web-02 SHOW REPLICA STATUS\\G")]).passed)
        #expect(!(try outcome("you ran `status`", lesson: [.command("status")], step: [.command("diagram")]).passed), "only this step's")
    }

    @Test func aCheckLineSaysWhatItAddsOnce() throws {
        let check = try #require(Check.parse("lb-01 sees web-01 UP"))
        #expect(CheckOutcome(passed: true, why: "lb-01 sees web-01 UP").line(for: check) == "lb-01 sees web-01 UP")
        #expect(CheckOutcome(passed: true, why: "").line(for: check) == "lb-01 sees web-01 UP")
        #expect(CheckOutcome(passed: false, why: "lb-01 sees web-01 UP 2/3, not UP yet").line(for: check)
                == "lb-01 sees web-01 UP — lb-01 sees web-01 UP 2/3, not UP yet")
    }
}

/// Which commands end a step: the step waits for all of them, in order, and is not ended by a typo or another step's
/// command.
@Suite struct StepCommandsTests {
    func step(_ commands: [String], endsAfter: Int? = nil) -> Step {
        Step(number: 1, title: "t", prose: "", commands: commands, checks: [], hints: [], endsAfter: endsAfter, line: 1)
    }

    @Test func fourRequestsAreFourRequests() {
        var tracker = StepCommands(step(["curl -i /", "curl -i /", "curl -i /", "curl -i /"]))
        for _ in 0..<3 { tracker.note("curl -i /") }
        #expect(!tracker.reachedEnd, "three of four")
        tracker.note("curl  -i  /")
        #expect(tracker.reachedEnd)
    }

    @Test func aTypoOrAnotherStepsCommandDoesNotCount() {
        var tracker = StepCommands(step(["kill lb-01", "curl /", "load -n 20"]))
        var counted = tracker.note("kil lb-01")
        #expect(!counted)
        counted = tracker.note("status")
        #expect(!counted)
        #expect(tracker.next == "kill lb-01")
        counted = tracker.note("kill lb-01")
        #expect(counted)
        counted = tracker.note("curl -i /")
        #expect(counted, "the same verb with other words counts")
        #expect(!tracker.reachedEnd)
        tracker.note("load -n 20")
        #expect(tracker.reachedEnd)
        counted = tracker.note("anything")
        #expect(counted, "after the end every command runs the checks again")
    }

    @Test func aStepCanEndBeforeItsLastCommand() {
        var tracker = StepCommands(step(["kill web-01", "status", "diagram"], endsAfter: 1))
        tracker.note("kill web-01")
        tracker.note("status")
        #expect(tracker.reachedEnd)
    }
}

/// Predictions graded against what the run showed, not against a fixed answer.
@Suite @MainActor struct PredictionTests {
    func observe(_ observation: Observation, lesson: [Fact] = [], step: [Fact], at time: Date = Date()) -> Observed {
        observation.observe(in: FakeContext(facts: FactLog(lesson: lesson, step: step, at: time)), now: time)
    }

    @Test func answersAreChosenByTheirWordsOrNumbers() {
        let question = Prediction(question: "How long?", answers: ["1 s", "6 s", "60 s", "never"], observation: .secondsToFirstAlert)
        #expect(question.answer(for: " Never ") == "never")
        #expect(question.answer(for: "6") == "6 s")
        #expect(question.answer(for: "60s") == "60 s")
        #expect(question.answer(for: "maybe") == nil)
        #expect(question.answer(for: "") == nil)
    }

    @Test func theSiteWithoutItsBalancerIsGradedOnTheRequests() {
        let question = Prediction(question: "Up?", answers: ["yes", "no"], observation: .requestsSucceeded)
        let refused = observe(.requestsSucceeded, step: [.load(LoadFact(failures: [.refused: 20]))])
        #expect(refused.value == "no")
        #expect(refused.words == "0 of 20 requests answered (connection refused × 20)")
        #expect(question.grade("no", against: refused) == true)
        #expect(question.grade("yes", against: refused) == false)
        #expect(question.grade("yes", against: observe(.requestsSucceeded, step: [])) == nil, "no requests: the run cannot tell")
    }

    @Test func readsAndWritesWithoutThePrimary() {
        let facts: [Fact] = [.request(RequestFact(method: "GET", path: "/api/posts", outcome: .status(200))),
                             .request(RequestFact(method: "POST", path: "/api/posts", outcome: .status(503)))]
        let observed = observe(.whichRequestsWorked, step: facts)
        #expect(observed.value == "reads")
        #expect(observed.words == "reads got 200; writes got 503")
    }

    @Test func aNumberIsGradedOnTheNearestAnswer() {
        let question = Prediction(question: "How many fail?", answers: ["0", "4", "8"], observation: .failedRequests)
        let three = observe(.failedRequests, step: [.load(LoadFact(statuses: [200: 5, 503: 3]))])
        #expect(three.value == "3")
        #expect(question.grade("4", against: three) == true, "3 of 8 is about 4")
        #expect(question.grade("0", against: three) == false)
    }

    @Test func timeToDetectFromTheKillToTheFirstAlert() {
        let kill = Date(timeIntervalSince1970: 1_000)
        var log = FactLog()
        log.markStepBegan(step: 4)
        log.append(.fault(FaultFact(fault: "crash", target: "web-02", processes: ["web-02/nginx"])), at: kill)
        log.append(.event(.alert(name: "InstanceDown", instance: "web-02/nginx", state: "pending")), at: kill + 1)
        log.append(.event(.alert(name: "InstanceDown", instance: "web-02/nginx", state: "firing")), at: kill + 6.3)
        let observed = Observation.secondsToFirstAlert.observe(in: FakeContext(facts: log), now: kill + 10)
        #expect(abs((observed.number ?? 0) - 6.3) < 0.001)
        #expect(observed.value == "6.3 s")
        #expect(observed.words.hasPrefix("kill web-02 at "))
        #expect(observed.words.contains(", InstanceDown firing for web-02/nginx at "))
        let question = Prediction(question: "How long?", answers: ["1 s", "6 s", "60 s", "never"], observation: .secondsToFirstAlert)
        #expect(question.grade("6 s", against: observed) == true)
        #expect(question.grade("never", against: observed) == false)

        var silent = FactLog()
        silent.append(.fault(FaultFact(fault: "crash", target: "web-02", processes: ["web-02/nginx"])), at: kill)
        silent.markStepBegan(step: 2)
        let nobody = Observation.secondsToFirstAlert.observe(in: FakeContext(facts: silent), now: kill + 31)
        #expect(nobody.value == "never")
        #expect(nobody.words == "nobody noticed: web-02 has been down for 31 s and no monitor is running")
        #expect(question.grade("never", against: nobody) == true)
        #expect(question.grade("60 s", against: nobody) == false)
    }

    @Test func theStaleReadPrediction() {
        let observed = observe(.lastReadShowedNewPost, step: [FactCheckTests.post, FactCheckTests.list([6])])
        #expect(observed.value == "no")
        #expect(observed.words == "post 7 (\"where is my post\") was not in the list, read from web-02/mysql")
    }
}
