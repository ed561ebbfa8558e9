/// gunicorn.conf.py, read as plain `name = value` lines (Python literals: strings, numbers, lists of strings).
public struct GunicornConfig: Sendable, Equatable {
    public var bindHost: String            // gunicorn default bind "127.0.0.1:8000"
    public var bindPort: Int
    public var workers: Int                // gunicorn default 1
    public var timeout: Int                // seconds, gunicorn default 30
    public var gracefulTimeout: Int        // seconds, gunicorn default 30
    /// `accesslog`: nil = no access log (gunicorn's default), "-" = the process's own output.
    public var accessLog: String?
    /// `errorlog`: "-" (gunicorn's default) = the process's own output.
    public var errorLog: String
    public var logLevel: String            // gunicorn default "info"
    /// `wsgi_app = "foobar:app"`: the application to run; the miniature has one, the foobar app.
    public var wsgiApp: String
    /// `raw_env = ["KEY=VALUE", …]`: the app's environment (where its databases are).
    public var environment: [String: String]

    public init(bindHost: String = "127.0.0.1", bindPort: Int = 8000, workers: Int = 1, timeout: Int = 30, gracefulTimeout: Int = 30,
                accessLog: String? = nil, errorLog: String = "-", logLevel: String = "info", wsgiApp: String = "foobar:app",
                environment: [String: String] = [:]) {
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.workers = workers
        self.timeout = timeout
        self.gracefulTimeout = gracefulTimeout
        self.accessLog = accessLog
        self.errorLog = errorLog
        self.logLevel = logLevel
        self.wsgiApp = wsgiApp
        self.environment = environment
    }
}
