import CHTTPServerReactor

extension EventLoop {
    /// Calls `handler` on the loop thread when `signal` arrives (signalfd; the signal is blocked for the process).
    ///
    /// The signal is blocked with pthread_sigmask on the *calling* thread only; threads inherit the
    /// mask when they are created. Call this on the main thread before any other thread starts, or a
    /// thread that does not block the signal gets its default action (often: death) instead.
    /// Several handlers for one signal all run, in the order added.
    public func onSignal(_ signal: Int32, _ handler: @escaping () -> Void) throws(SystemError) {
        if signalHandlers[signal] == nil {
            let previous = signalFD
            // One signalfd for all signals: re-calling signalfd on it widens its mask.
            let fd = try systemCall("signalfd") { creactor_block_signal_and_update_signalfd(signal, previous, &signalSet) }
            if previous < 0 {
                signalFD = fd
                do {
                    _ = try register(fd, interest: .read, handler: SignalReader(loop: self))
                } catch {
                    _ = CHTTPServerReactor.close(fd)
                    signalFD = -1
                    throw error
                }
            }
        }
        signalHandlers[signal, default: []].append(handler)
    }

    func drainSignals() {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while true {
            let count = CHTTPServerReactor.read(signalFD, &info, size)
            if count != size {
                if count < 0 && creactor_errno() == EINTR { continue }
                return
            }
            let signal = Int32(bitPattern: info.ssi_signo)
            for handler in signalHandlers[signal] ?? [] { handler() }
        }
    }
}

private final class SignalReader: EventHandler {
    unowned let loop: EventLoop
    init(loop: EventLoop) { self.loop = loop }
    func readable() { loop.drainSignals() }
    func writable() {}
}
