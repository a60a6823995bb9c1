import Glibc
import Testing
@testable import HTTPServerReactor

extension ReactorTests {
@Suite struct ListenerAndAddressTests {
    @Test func portZeroReportsTheChosenPort() throws {
        let listener = try makeListener()
        defer { listener.close() }
        #expect(listener.localAddress.port != 0)
        #expect(listener.localAddress.host == "127.0.0.1")
        #expect(try SocketAddress.local(of: listener.fd) == listener.localAddress)
        #expect(listener.localAddress.description == "127.0.0.1:\(listener.localAddress.port)")
    }

    @Test func ipv6LoopbackListenerEchoes() throws {
        // No IPv6 loopback in this environment: nothing to test.
        guard let listener = try ipv6Listener("::1", ipv6Only: true) else { return }
        defer { listener.close() }
        #expect(listener.localAddress.isIPv6)
        #expect(listener.localAddress.description == "[::1]:\(listener.localAddress.port)")
        let loop = try EventLoop()
        var peer: SocketAddress?
        var server: SocketTransport?
        let serverEvents = Recorder()
        try loop.startAccepting(listener) { transport, address in
            peer = address
            server = transport
            transport.delegate = serverEvents
            try? transport.start()
        }
        serverEvents.onBytes = { _, _ in loop.stop() }
        let client = try SocketTransport.connect(loop: loop, to: listener.localAddress)
        _ = try bytes("six").withUnsafeBytes { try client.write($0) }
        #expect(try runLoop(loop))
        #expect(serverEvents.received == bytes("six"))
        #expect(peer?.isIPv6 == true)
        #expect(peer?.host == "::1")
        client.close(); server?.close()
    }

    @Test func dualStackListenerAcceptsIPv4() throws {
        guard let listener = try ipv6Listener("::", ipv6Only: false) else { return }
        defer { listener.close() }
        let loop = try EventLoop()
        var peer: SocketAddress?
        try loop.startAccepting(listener) { transport, address in
            peer = address
            transport.close()
            loop.stop()
        }
        let client = try SocketTransport.connect(loop: loop, to: SocketAddress(ip: "127.0.0.1", port: listener.localAddress.port))
        #expect(try runLoop(loop))
        #expect(peer?.host == "::ffff:127.0.0.1")
        client.close()
    }

    @Test func bindConflictNamesTheCall() throws {
        let first = try makeListener()
        defer { first.close() }
        #expect(throws: SystemError(call: "bind", errno: EADDRINUSE)) {
            _ = try ListeningSocket(address: first.localAddress, reuseAddress: true)
        }
        // SO_REUSEPORT on both: one port, two listeners (one per reactor).
        let a = try ListeningSocket(address: SocketAddress(ip: "127.0.0.1", port: 0), reusePort: true)
        let b = try ListeningSocket(address: a.localAddress, reusePort: true)
        #expect(a.localAddress == b.localAddress)
        a.close(); b.close()
        #expect(a.fd == -1)
    }

    @Test func systemErrorDescriptions() {
        #expect(SystemError(call: "bind", errno: EADDRINUSE).description == "bind: Address already in use")
        #expect(SystemError(call: "read", errno: ECONNRESET).description == "read: Connection reset by peer")
        #expect(SystemError(call: "x", errno: 99999).description.hasPrefix("x: Unknown error"))
    }

    @Test func resolveNumericNamesAndWildcard() throws {
        let v4 = try SocketAddress.resolve(host: "127.0.0.1", port: 8000, passive: false)
        #expect(v4.map(\.description) == ["127.0.0.1:8000"])
        let v6 = try SocketAddress.resolve(host: "::1", port: 8000, passive: false)
        #expect(v6.map(\.description) == ["[::1]:8000"])
        #expect(v6.first?.isIPv6 == true)
        let named = try SocketAddress.resolve(host: "localhost", port: 80, passive: false)
        #expect(!named.isEmpty)
        #expect(named.allSatisfy { $0.host == "127.0.0.1" || $0.host == "::1" })
        let wildcard = try SocketAddress.resolve(host: "", port: 0, passive: true)
        #expect(wildcard.contains { $0.host == "0.0.0.0" || $0.host == "::" })
        #expect(try SocketAddress(ip: "10.1.2.3", port: 1) == SocketAddress(ip: "10.1.2.3", port: 1))
        #expect(try SocketAddress(ip: "10.1.2.3", port: 1) != SocketAddress(ip: "10.1.2.3", port: 2))
        #expect(Set(try [SocketAddress(ip: "::1", port: 5), SocketAddress(ip: "::1", port: 5)]).count == 1)
    }

    /// IPv4 hosts are formatted without inet_ntop: they must read exactly as inet_ntop writes them.
    @Test func ipv4HostMatchesInetNtop() throws {
        var generator = SystemRandomNumberGenerator()
        let fixed: [UInt32] = [0, 0xFFFF_FFFF, 0x0100_007F, 0x0A00_000A, 0x6400_0A09, 0x0909_6363]
        for address in fixed + (0..<2_000).map({ _ in UInt32.random(in: .min ... .max, using: &generator) }) {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: sa_family_t(AF_INET), toByteOffset: 0, as: sa_family_t.self)
                raw.storeBytes(of: address, toByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, as: UInt32.self)
            }
            var inAddr = in_addr(s_addr: address)
            var text = [CChar](repeating: 0, count: 16)
            #expect(inet_ntop(AF_INET, &inAddr, &text, 16) != nil)
            let expected = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let host = SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size)).host
            #expect(host == expected, "address \(address)")
        }
    }

    @Test func resolveFailureCarriesGaiText() {
        do {
            _ = try SocketAddress.resolve(host: "no-such-host.invalid", port: 80, passive: false)
            Issue.record("resolved an .invalid name")
        } catch {
            #expect(error.call == "getaddrinfo")
            #expect(error.description.hasPrefix("getaddrinfo: "))
            #expect(error.description.count > "getaddrinfo: ".count)
        }
    }

    @Test func acceptingPausesOnEMFILEAndResumesByItself() throws {
        let loop = try EventLoop()
        loop.acceptRetryDelay = .milliseconds(20)
        let listener = try makeListener()
        defer { listener.close() }
        var calls = 0
        var failuresLeft = 3
        var accepted: SocketTransport?
        let acceptor = try loop.startAccepting(listener, maxPerWakeup: 64, accept: { fd, address, length in
            calls += 1
            if failuresLeft > 0 {
                failuresLeft -= 1
                return -EMFILE  // as if the process were out of descriptors
            }
            return systemAccept(fd, &address, &length)
        }) { transport, _ in
            accepted = transport
            loop.stop()
        }
        let client = try SocketTransport.connect(loop: loop, to: listener.localAddress)
        let started = Instant.now()
        #expect(try runLoop(loop))
        let elapsed = started.duration(to: .now())
        #expect(accepted != nil)
        #expect(acceptor.pauseCount == 3)
        // One call per retry, not a busy loop: 3 EMFILE, 1 success, 1 EAGAIN.
        #expect(calls == 5)
        #expect(elapsed >= .milliseconds(60))
        #expect(!acceptor.isPaused)
        accepted?.close(); client.close()
    }

    @Test func acceptIsBoundedPerWakeup() throws {
        let loop = try EventLoop()
        let listener = try makeListener()
        defer { listener.close() }
        var clients: [SocketTransport] = []
        for _ in 0..<5 { clients.append(try SocketTransport.connect(loop: loop, to: listener.localAddress)) }
        var perWakeup: [Int] = []
        var acceptedThisWakeup = 0
        var total = 0
        // Due at once, it fires after this wake-up's events: it records how many were accepted in it.
        let endOfWakeup = Timer { perWakeup.append(acceptedThisWakeup); acceptedThisWakeup = 0 }
        try loop.startAccepting(listener, maxPerWakeup: 2) { transport, _ in
            transport.close()
            total += 1
            acceptedThisWakeup += 1
            loop.arm(endOfWakeup, at: loop.now)
            if total == 5 { loop.stop() }
        }
        #expect(try runLoop(loop))
        #expect(total == 5)
        #expect(perWakeup.allSatisfy { $0 <= 2 })
        #expect(perWakeup.count >= 3)
        clients.forEach { $0.close() }
    }

    /// The descriptor count is per process, and suites run in parallel in this one: the exact
    /// count is checked in a child copy of the test binary running this test alone.
    @Test func noDescriptorLeaks() throws {
        guard getenv("REACTOR_FD_LEAK_CHILD") == nil else { return }
        #expect(try runTestInChildProcess(filter: "noDescriptorLeaksInTheChild",
                                          environment: ["REACTOR_FD_LEAK_CHILD=1"]))
    }

    @Test func noDescriptorLeaksInTheChild() throws {
        guard getenv("REACTOR_FD_LEAK_CHILD") != nil else { return }
        let before = openDescriptorCount()
        do {
            let loop = try EventLoop()
            let (server, client, listener) = try connectedPair(loop)
            let serverEvents = Recorder()
            serverEvents.onBytes = { [unowned server] _, bytes in _ = try? server.write(bytes) }
            server.delegate = serverEvents
            try server.start()
            let clientEvents = Recorder()
            clientEvents.onBytes = { _, _ in loop.stop() }
            client.delegate = clientEvents
            try client.start()
            _ = try bytes("x").withUnsafeBytes { try client.write($0) }
            #expect(try runLoop(loop))
            try loop.onSignal(SIGUSR2) {}
            // Close some explicitly; leave others to the loop's deinit.
            client.close()
            listener.close()
            _ = server
        }
        #expect(openDescriptorCount() == before)
    }
}
}

/// An IPv6 listener, or nil where the machine has no IPv6.
func ipv6Listener(_ host: String, ipv6Only: Bool) throws -> ListeningSocket? {
    let result = Result { () throws(SystemError) -> ListeningSocket in
        try ListeningSocket(address: SocketAddress(ip: host, port: 0), ipv6Only: ipv6Only)
    }
    if case .failure(let error) = result, error.errno == EADDRNOTAVAIL || error.errno == EAFNOSUPPORT {
        return nil
    }
    return try result.get()
}
