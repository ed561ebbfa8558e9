import Testing
@testable import StackLabStore

@Suite("Replica thread state machines")
struct ReplicaThreadStateTests {
    @Test func receiverThatNeverReachedItsSourceSaysErrorConnecting() {
        var r = ReceiverState()
        r.start()
        #expect(r.running == .connecting && r.stateText == "Connecting to source")
        let first = r.connectFailed(code: 2003, message: "Can't connect to MySQL server on '127.0.1.11:3306' (111)", source: "repl@127.0.1.11:3306", retrySeconds: 60, at: "t")
        #expect(first == "Error connecting to source 'repl@127.0.1.11:3306'. This was attempt 1/86400, with a delay of 60 seconds between attempts. Message: Can't connect to MySQL server on '127.0.1.11:3306' (111)")
        _ = r.connectFailed(code: 2003, message: "m", source: "s", retrySeconds: 60, at: "t")
        #expect(r.lastError.contains("attempt 2/86400"))
        #expect(r.running == .connecting && r.lastErrno == 2003)
    }

    @Test func receiverThatLostItsSourceSaysErrorReconnectingAndCountsAgain() {
        var r = ReceiverState()
        r.start()
        _ = r.connectFailed(code: 2003, message: "m", source: "s", retrySeconds: 1, at: "t")
        r.connected()
        #expect(r.running == .yes && r.lastErrno == 0 && r.lastError == "" && r.stateText == "Waiting for source to send event")
        let immediate = r.connectionLost()
        #expect(immediate)
        #expect(r.running == .connecting)
        let text = r.connectFailed(code: 2003, message: "Can't connect to MySQL server on '127.0.1.11:3306' (111)", source: "repl@127.0.1.11:3306", retrySeconds: 60, at: "t")
        #expect(text == "Error reconnecting to source 'repl@127.0.1.11:3306'. This was attempt 1/86400, with a delay of 60 seconds between attempts. Message: Can't connect to MySQL server on '127.0.1.11:3306' (111)")
        // A second loss while not connected does not count as "was connected".
        let again = r.connectionLost()
        #expect(!again)
        r.stop()
        #expect(r.running == .no && r.stateText == "" && r.lastErrno == 2003, "STOP keeps the last error, as SHOW REPLICA STATUS does")
    }

    @Test func fatalReceiverErrorStopsTheThread() {
        var r = ReceiverState()
        r.start()
        r.fatal(code: 13114, message: "Got fatal error 1236 from source when reading data from binary log: 'Could not find first log file name in binary log index file'", at: "t")
        #expect(r.running == .no && r.lastErrno == 13114)
    }

    @Test func applierStatesAndFailure() {
        var a = ApplierState()
        a.start()
        #expect(a.running && a.stateText == "Replica has read all relay log; waiting for more updates")
        a.delaying(remainingSeconds: 5)
        #expect(a.stateText == "Waiting until SOURCE_DELAY seconds after source executed event" && a.remainingDelay == 5)
        a.applying()
        #expect(a.remainingDelay == nil)
        let text = a.failed(StoreError.duplicateEntry("1", key: "posts.PRIMARY"), database: "foobar", query: "INSERT INTO posts VALUES (1)", at: "t")
        #expect(text == "Error 'Duplicate entry '1' for key 'posts.PRIMARY'' on query. Default database: 'foobar'. Query: 'INSERT INTO posts VALUES (1)'")
        #expect(!a.running && a.lastErrno == 1062)
        a.start()
        #expect(a.lastErrno == 0 && a.lastError == "", "START REPLICA clears the SQL error")
    }

    @Test func secondsBehindSourceFollowsMySQLsRules() {
        let now = 1_000_000.0
        #expect(ApplierState.secondsBehindSource(applierRunning: false, receiver: .yes, oldestPendingMillis: nil, hasPending: false, nowSeconds: now) == nil)
        #expect(ApplierState.secondsBehindSource(applierRunning: true, receiver: .yes, oldestPendingMillis: nil, hasPending: false, nowSeconds: now) == 0)
        #expect(ApplierState.secondsBehindSource(applierRunning: true, receiver: .connecting, oldestPendingMillis: nil, hasPending: false, nowSeconds: now) == nil)
        #expect(ApplierState.secondsBehindSource(applierRunning: true, receiver: .no, oldestPendingMillis: 999_990_000, hasPending: true, nowSeconds: now) == 10)
        #expect(ApplierState.secondsBehindSource(applierRunning: true, receiver: .yes, oldestPendingMillis: 1_000_005_000, hasPending: true, nowSeconds: now) == 0)
    }

    @Test func gtidSetsPrintAndMergeLikeMySQL() {
        var set = GTIDSet()
        for n: Int64 in [1, 2, 3, 5, 4, 7] { set.insert(uuid: "3E11FA47-71CA-11E1-9E33-C80AA9429562", gno: n) }
        #expect(set.description == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7")
        var other = GTIDSet(parsing: "aaaaaaaa-0000-0000-0000-000000000000:1-3")
        other?.formUnion(set)
        #expect(other?.description == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,\naaaaaaaa-0000-0000-0000-000000000000:1-3")
        #expect(GTIDSet(parsing: other?.description ?? "") == other)
        #expect(set.contains(uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562", gno: 7))
        #expect(!set.contains(uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562", gno: 6))
        #expect(set.next(for: "3e11fa47-71ca-11e1-9e33-c80aa9429562") == 8)
        #expect(GTIDSet(parsing: "x:0") == nil)
    }
}
