import CoreMetrics
import HTTPServerReactor

extension HTTPServer {
    /// Creates the metrics when a backend is bootstrapped (`configuration.metricsFactory`, else
    /// `MetricsSystem.factory`), one set per reactor, and publishes each every second on its loop.
    func startMetrics() {
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        // The connection gauges are the sum over the reactors: each publishes its own counts there.
        let totals = ConnectionStateTotals(reactors: reactors.count)
        for reactor in reactors {
            guard let metrics = ServerMetrics.make(factory: factory) else { return }
            metrics.stateTotals = totals
            reactor.context.metrics = metrics
            guard let loop = reactor.loop else { continue }  // in-memory servers publish when asked (`publishMetrics()`)
            let link = loop.link
            let timer = HTTPServerReactor.Timer { [weak self, unowned reactor] in
                guard let self, let loop = link.loop, let timer = reactor.metricsTimer else { return }
                self.publishMetrics(reactor)
                loop.arm(timer, at: loop.now.advanced(by: .seconds(1)))
            }
            reactor.metricsTimer = timer
            loop.arm(timer, at: loop.now.advanced(by: .seconds(1)))
        }
    }

    /// Hands the metrics counted since the last call to the metrics backend, and sets the gauges of
    /// open connections by state (`proxy_header` for those still reading a PROXY protocol header).
    /// Each loop does it every second; call it on a loop's thread (it publishes that reactor's
    /// counts) or, for a server of in-memory transports, from the test. Nothing without a metrics
    /// backend.
    public func publishMetrics() {
        publishMetrics(currentReactor)
    }

    private func publishMetrics(_ reactor: ServerReactor) {
        guard let metrics = reactor.context.metrics else { return }
        var states = reactor.connectionStateCounts
        states["proxy_header"] = reactor.proxyHeaderStages.count
        metrics.publish(connectionStates: metrics.stateTotals?.update(reactor: reactor.index, states) ?? states)
    }
}
