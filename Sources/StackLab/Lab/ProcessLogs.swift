/// The logs of the processes that write more than one: what `logs` shows, what the lab flushes to disk and what a
/// kept run gathers.
extension WebServer {
    /// nginx's access log (one line per request, "combined") and its error log.
    public var logBooks: [(stream: String?, book: LogBook)] { [("access", accessLog), ("error", log)] }
}

extension AppServer {
    /// gunicorn's own output (errorlog), and its access log when `accesslog` names a file of its own.
    public var logBooks: [(stream: String?, book: LogBook)] {
        guard let accessLog, accessLog !== log else { return [(nil, log)] }
        return [(nil, log), ("access", accessLog)]
    }
}
