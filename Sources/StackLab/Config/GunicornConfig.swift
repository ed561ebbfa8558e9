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
    /// `backlog` (gunicorn default 2048): clients that may wait for a worker, in the listen queue.
    public var backlog: Int
    /// `worker_connections` (gunicorn default 1000): for gevent and eventlet workers only; a sync worker holds one.
    public var workerConnections: Int
    /// `keepalive` (gunicorn default 2 s): how long other workers keep a connection for its next request. A sync
    /// worker ignores it and closes each connection after one response (`Connection: close`).
    public var keepalive: Int = 2
    /// `limit_request_line` (gunicorn default 4094, at most 8190; 0 = no limit): the request line's bytes. Past it: 400.
    public var limitRequestLine: Int
    /// `limit_request_fields` (gunicorn default 100, at most 32768): header lines per request. Past it: 431.
    public var limitRequestFields: Int
    /// `limit_request_field_size` (gunicorn default 8190; 0 = no limit): one header line's bytes. Past it: 431.
    public var limitRequestFieldSize: Int

    public init(bindHost: String = "127.0.0.1", bindPort: Int = 8000, workers: Int = 1, timeout: Int = 30, gracefulTimeout: Int = 30,
                accessLog: String? = nil, errorLog: String = "-", logLevel: String = "info", wsgiApp: String = "foobar:app",
                environment: [String: String] = [:], backlog: Int = 2048, workerConnections: Int = 1000, limitRequestLine: Int = 4094,
                limitRequestFields: Int = 100, limitRequestFieldSize: Int = 8190) {
        self.backlog = backlog
        self.workerConnections = workerConnections
        self.limitRequestLine = limitRequestLine
        self.limitRequestFields = limitRequestFields
        self.limitRequestFieldSize = limitRequestFieldSize
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
