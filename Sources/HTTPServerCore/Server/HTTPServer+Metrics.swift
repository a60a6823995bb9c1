import CoreMetrics
import HTTPServerReactor

extension HTTPServer {
    /// Creates the metrics when a backend is bootstrapped (`configuration.metricsFactory`, else
    /// `MetricsSystem.factory`), and publishes them every second on the loop.
    func startMetrics() {
        guard let metrics = ServerMetrics.make(factory: configuration.metricsFactory ?? MetricsSystem.factory) else {
            return
        }
        self.metrics = metrics
        guard let loop else { return }  // in-memory servers publish when asked (`publishMetrics()`)
        let timer = HTTPServerReactor.Timer { [weak self, weak loop] in
            guard let self, let loop, let timer = self.metricsTimer else { return }
            self.publishMetrics()
            loop.arm(timer, at: loop.now.advanced(by: .seconds(1)))
        }
        metricsTimer = timer
        loop.arm(timer, at: loop.now.advanced(by: .seconds(1)))
    }

    /// Hands the metrics counted since the last call to the metrics backend, and sets the gauges of
    /// open connections by state (`proxy_header` for those still reading a PROXY protocol header).
    /// The loop does it every second; call it on the loop thread (or, for a server of in-memory
    /// transports, from the test). Nothing without a metrics backend.
    public func publishMetrics() {
        guard let metrics else { return }
        var states = connectionStateCounts
        states["proxy_header"] = proxyHeaderStages.count
        metrics.publish(connectionStates: states)
    }
}
