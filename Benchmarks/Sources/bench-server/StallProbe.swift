import Glibc
import HTTPServerReactor

/// How long the loop goes without turning: a timer due every millisecond notes how late it fires
/// (the work of one loop iteration delays it), and once a second the worst delay of that second is
/// printed as `stall <ms>`. A probe, not a feature: it wakes the loop a thousand times a second.
final class StallProbe {
    private let loop: EventLoop
    private var due = Instant.now()
    private var worst: Duration = .zero
    private var secondStarted = Instant.now()

    init(loop: EventLoop) { self.loop = loop }

    func start() {
        due = Instant.now().advanced(by: .milliseconds(1))
        secondStarted = Instant.now()
        arm()
    }

    private func arm() {
        loop.arm(Timer { [self] in fired() }, at: due)
    }

    private func fired() {
        let now = Instant.now()
        let late = due.duration(to: now)
        if late > worst { worst = late }
        if secondStarted.duration(to: now) >= .seconds(1) {
            let ms = Double(worst.components.seconds) * 1000 + Double(worst.components.attoseconds) / 1e15
            print("stall \(ms)")
            fflush(nil)
            worst = .zero
            secondStarted = now
        }
        // The next tick is a millisecond from now: a stall is reported once, not as a backlog.
        due = now.advanced(by: .milliseconds(1))
        arm()
    }
}
