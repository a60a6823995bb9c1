import CHTTPServerOpenSSL

/// A connection whose output kernel TLS may still take over: the records OpenSSL has written and,
/// in TLS 1.3, the server's application traffic secret and the record it begins at. Exists only
/// where kernel TLS is enabled and offered; dropped at the switch or the fallback.
final class KernelTLSCandidate {
    var counter = TLSRecordCounter()
    /// TLS 1.3: SERVER_TRAFFIC_SECRET_0, from the key log callback.
    private(set) var applicationSecret: [UInt8]?
    /// TLS 1.3: the records written before the first one under the application keys.
    private(set) var applicationEpochStart: Int?
    /// Why the switch cannot happen, once that is known.
    var disqualification: KernelTLSFallback?
    /// `outputEndsStream()` came: passed on to the socket if the connection falls back (under kernel
    /// TLS it is not).
    var isOutputEndDeferred = false

    /// OpenSSL logs the server's application secret when it switches its write keys, after it has
    /// written (and flushed) its Finished: the records written so far are under the handshake keys.
    func secretLogged(_ secret: [UInt8]) {
        guard applicationSecret == nil else {
            disqualification = .keysUnavailable
            return
        }
        applicationSecret = secret
        if counter.isAtRecordBoundary {
            applicationEpochStart = counter.recordCount
        } else {
            disqualification = .recordStreamUnclear
        }
    }

    /// After each handshake step: the step that logged the secret must have written nothing after
    /// it (OpenSSL sends its tickets, the first records under the application keys, only once the
    /// client's Finished has come). If it did, which records came first is unclear.
    func handshakeStepEnded() {
        guard let start = applicationEpochStart, applicationSecret != nil, disqualification == nil,
              !hasCheckedEpoch else { return }
        hasCheckedEpoch = true
        if counter.recordCount != start { disqualification = .recordStreamUnclear }
    }
    private var hasCheckedEpoch = false

    /// The TLS 1.2 secrets, read from OpenSSL only when needed.
    struct TLS12Secrets {
        var masterSecret: [UInt8]
        var clientRandom: [UInt8]
        var serverRandom: [UInt8]
    }

    /// The kernel's parameters for the connection's next record, or why there are none. `version`
    /// is OpenSSL's (`TLS1_3_VERSION`), `suite` the IANA number of the cipher suite.
    func cryptoInfo(version: Int32, suite: UInt16,
                    tls12Secrets: () -> TLS12Secrets?) -> KernelTLSDecision {
        if let disqualification { return .userSpace(disqualification) }
        guard counter.isAtRecordBoundary else { return .userSpace(.recordStreamUnclear) }
        guard let cipher = KernelTLSCipher(suite: suite) else { return .userSpace(.cipher) }
        switch version {
        case TLS1_3_VERSION:
            guard let secret = applicationSecret else { return .userSpace(.keysUnavailable) }
            guard let start = applicationEpochStart, counter.recordCount >= start else {
                return .userSpace(.recordStreamUnclear)
            }
            let sequence = UInt64(counter.recordCount - start)
            guard let info = KernelTLSKeys.tls13(secret: secret, cipher: cipher, recordSequence: sequence) else {
                return .userSpace(.keysUnavailable)
            }
            return .kernel(info)
        case TLS1_2_VERSION:
            // Sequence numbers start again at the server's ChangeCipherSpec (RFC 5246 §6.1); its
            // Finished, at least, was written under the new keys.
            guard let since = counter.recordsSinceChangeCipherSpec, since > 0 else {
                return .userSpace(.recordStreamUnclear)
            }
            var explicitNonce: UInt64 = 0
            if cipher != .chacha20Poly1305 {
                // The next explicit nonce follows the last one OpenSSL sent (it counts up too).
                guard let last = counter.lastFragmentPrefix, last != .max else { return .userSpace(.recordStreamUnclear) }
                explicitNonce = last + 1
            }
            guard var secrets = tls12Secrets() else { return .userSpace(.keysUnavailable) }
            defer { for i in secrets.masterSecret.indices { secrets.masterSecret[i] = 0 } }
            guard let info = KernelTLSKeys.tls12(masterSecret: secrets.masterSecret,
                                                  clientRandom: secrets.clientRandom,
                                                  serverRandom: secrets.serverRandom, cipher: cipher,
                                                  recordSequence: UInt64(since), explicitNonce: explicitNonce)
            else { return .userSpace(.keysUnavailable) }
            return .kernel(info)
        default:
            return .userSpace(.protocolVersion)
        }
    }

    /// Overwrites the secret (best effort).
    func wipe() {
        guard applicationSecret != nil else { return }
        for i in applicationSecret!.indices { applicationSecret![i] = 0 }
        applicationSecret = nil
    }
}

/// What a pending connection does at its first write.
enum KernelTLSDecision: Equatable {
    case kernel(KernelTLSCryptoInfo)
    case userSpace(KernelTLSFallback)
}
