import CHTTPServerOpenSSL
@testable import HTTPServerTLS
import HTTPServerTesting
import Testing

/// When kernel TLS is used and when a connection falls back to user space (no kernel needed).
@Suite struct KernelTLSDecisionTests {
    @Test func contextFallsBackWhereTheKernelLacksTLSOrItIsOff() throws {
        let certificates = try TestCertificates.shared.get()
        var configuration = TLSConfiguration(certificateChainFile: certificates.certificateFile,
                                             privateKeyFile: certificates.keyFile)
        let clock = ManualClock()
        #expect(try TLSContext(configuration: configuration, scheduler: clock).kernelTLSFallback == .disabled)
        configuration.kernelTLS = true
        let context = try TLSContext(configuration: configuration, scheduler: clock)
        #expect(context.kernelTLSFallback == (TLSContext.kernelOffersTLS ? nil : .kernelLacksTLS))
        #expect(try TLSContext(configuration: configuration, scheduler: clock, kernelOffersTLS: false)
            .kernelTLSFallback == .kernelLacksTLS)
        #expect(try TLSContext(configuration: configuration, scheduler: clock, kernelOffersTLS: true)
            .kernelTLSFallback == nil)
    }

    @Test func candidateFallsBackOnWhatItCannotUse() {
        let secret = [UInt8](repeating: 7, count: 32)
        let none: () -> KernelTLSCandidate.TLS12Secrets? = { nil }
        let candidate = KernelTLSCandidate()
        #expect(candidate.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1301, tls12Secrets: none) == .userSpace(.keysUnavailable))
        candidate.secretLogged(secret)
        #expect(candidate.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1304, tls12Secrets: none) == .userSpace(.cipher))
        #expect(candidate.cryptoInfo(version: TLS1_1_VERSION, suite: 0x1301, tls12Secrets: none) == .userSpace(.protocolVersion))
        #expect(candidate.cryptoInfo(version: TLS1_2_VERSION, suite: 0xC02B, tls12Secrets: none) == .userSpace(.recordStreamUnclear))
        guard case .kernel(let info) = candidate.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1301, tls12Secrets: none) else {
            Issue.record("no crypto info")
            return
        }
        #expect(info.recordSequence == 0)
        // Two tickets, then half a record: not a boundary.
        [UInt8]([22, 3, 3, 0, 1, 4, 22, 3, 3, 0, 1, 4, 23, 3]).withUnsafeBytes { candidate.counter.consume($0) }
        #expect(candidate.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1301, tls12Secrets: none) == .userSpace(.recordStreamUnclear))
        [UInt8]([3, 0, 1, 0]).withUnsafeBytes { candidate.counter.consume($0) }
        guard case .kernel(let later) = candidate.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1301, tls12Secrets: none) else {
            Issue.record("no crypto info")
            return
        }
        #expect(later.recordSequence == 3)
        // The secret logged in a step that wrote more after it: which record came first is unclear.
        let late = KernelTLSCandidate()
        late.secretLogged(secret)
        [UInt8]([22, 3, 3, 0, 1, 4]).withUnsafeBytes { late.counter.consume($0) }
        late.handshakeStepEnded()
        #expect(late.cryptoInfo(version: TLS1_3_VERSION, suite: 0x1301, tls12Secrets: none) == .userSpace(.recordStreamUnclear))
    }
}
