extension Lab {
    /// A prometheus.yml with which a real Prometheus scrapes this lab (`stacklab` writes it for the monitoring lesson):
    /// one job per process kind, each target's `instance` set to `server/process` as the lab's monitor names it.
    ///
    /// ```sh
    /// prometheus --config.file=prometheus.yml --web.listen-address=127.0.0.1:9090
    /// ```
    public func prometheusConfig(scrapeInterval: Double = 1, ruleFiles: [String] = []) -> String {
        let interval = PromQL.formatDuration(scrapeInterval)
        var lines = [
            "# prometheus.yml for the stacklab lab \"\(topology.name)\": every process's metrics endpoint.",
            "global:",
            "  scrape_interval: \(interval)",
            "  scrape_timeout: \(interval)",
            "  evaluation_interval: \(interval)",
        ]
        if !ruleFiles.isEmpty {
            lines.append("rule_files:")
            lines += ruleFiles.map { "  - \"\($0)\"" }
        }
        let relay = scrapeRelay.withLockedValue { $0?.url }
        if let relay {
            lines.append("# The lab's firewalls let only the monitor (\(Monitor.defaultAddress)) reach the exporters: each scrape goes")
            lines.append("# through the lab's relay on that address (proxy_url), as from a Prometheus on the monitor server.")
        }
        lines.append("scrape_configs:")
        let targets = metricsTargets
        var jobs: [String] = []
        for target in targets where !jobs.contains(target.job) { jobs.append(target.job) }
        for job in jobs {
            lines.append("  - job_name: \(job)")
            if let relay { lines.append("    proxy_url: \(relay)") }
            lines.append("    static_configs:")
            for target in targets where target.job == job {
                lines.append("      - targets: [\"\(target.address)\"]")
                lines.append("        labels: {instance: \"\(target.instance)\"}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
