import Testing
@testable import StackLab

@Suite struct GunicornConfigParserTests {
    let file = "web-01/gunicorn.conf.py"

    func parse(_ text: String) throws -> GunicornConfig { try GunicornConfigParser.parse(text, file: file) }

    @Test func builtInLabParses() throws {
        let config = try parse(try builtInFile("web-01/gunicorn.conf.py"))
        #expect(config.bindHost == "127.0.1.11" && config.bindPort == 8000)
        #expect(config.workers == 4)
        #expect(config.timeout == 30)
        #expect(config.accessLog == "-")
        #expect(config.wsgiApp == "foobar:app")
        #expect(config.environment["DB_PRIMARY"] == "127.0.1.11:3306")
        #expect(config.environment["DB_PASSWORD"] == "app-secret")
        #expect(config.environment.count == 5)
    }

    @Test func emptyFileGivesGunicornsDefaults() throws {
        let config = try parse("# nothing set\n")
        #expect(config == GunicornConfig())
        #expect(config.workers == 1)
        #expect(config.timeout == 30)
        #expect(config.gracefulTimeout == 30)
        #expect(config.bindHost == "127.0.0.1" && config.bindPort == 8000)
        #expect(config.accessLog == nil)
        #expect(config.errorLog == "-")
        #expect(config.logLevel == "info")
    }

    @Test func everySettingParses() throws {
        let config = try parse("""
            bind = ['127.0.1.11:9000']
            workers = 2
            timeout = 5
            graceful_timeout = 10
            accesslog = 'logs/access.log'
            errorlog = "logs/error.log"
            loglevel = "debug"
            wsgi_app = "foobar:app"
            worker_class = "sync"
            keepalive = 2
            raw_env = [
                "A=1",   # the first
                'B=two=2',
            ]
            """)
        #expect(config.bindHost == "127.0.1.11" && config.bindPort == 9000)
        #expect(config.workers == 2 && config.timeout == 5 && config.gracefulTimeout == 10)
        #expect(config.accessLog == "logs/access.log" && config.errorLog == "logs/error.log")
        #expect(config.logLevel == "debug")
        #expect(config.environment == ["A": "1", "B": "two=2"])
    }

    @Test func settingGivenTwiceKeepsTheLastValueAsInPython() throws {
        #expect(try parse("workers = 4\nworkers = 5").workers == 5)
    }

    @Test func accesslogNoneMeansNoAccessLog() throws {
        #expect(try parse("accesslog = None").accessLog == nil)
    }

    @Test func bindWithoutPortUsesGunicornsPort8000() throws {
        #expect(try parse("bind = \"127.0.1.11\"").bindPort == 8000)
    }

    @Test(arguments: [
        ("import multiprocessing", "import"),
        ("workers = multiprocessing.cpu_count() * 2 + 1", "workers"),
        ("def on_starting(server):", "def"),
        ("workers = 2 + 2", "workers"),
    ])
    func pythonBeyondNameEqualsValueIsAnError(line: String, directive: String) throws {
        let error = configError { _ = try parse("timeout = 30\n" + line) }
        #expect(error?.line == 2)
        #expect(error?.directive == directive)
        #expect(error?.reason.hasPrefix("only \"name = value\" lines are supported") == true)
    }

    @Test func typoSuggestsTheNearestSetting() throws {
        let error = configError { _ = try parse("wokers = 4") }
        #expect(error?.description == "web-01/gunicorn.conf.py:1: \"wokers\": unknown setting — did you mean \"workers\"?")
    }

    @Test func realSettingOutsideTheSubsetSaysNotSupported() throws {
        let error = configError { _ = try parse("threads = 4") }
        #expect(error?.reason.hasPrefix("not supported by stacklab's gunicorn") == true)
    }

    @Test(arguments: [
        "worker_class = \"gevent\"",
        "workers = 0",
        "workers = \"4\"",
        "timeout = -1",
        "bind = \"127.0.1.11:70000\"",
        "bind = \"unix:/tmp/gunicorn.sock\"",
        "bind = [\"127.0.1.11:8000\", \"127.0.1.11:8001\"]",
        "loglevel = \"loud\"",
        "raw_env = [\"NOEQUALS\"]",
        "wsgi_app = \"myapp:app\"",
    ])
    func badValueIsAnErrorOnItsLine(text: String) throws {
        let error = configError { _ = try parse("# settings\n" + text) }
        #expect(error.map { (2...3).contains($0.line) } == true)
        #expect(error?.file == file)
    }
}
