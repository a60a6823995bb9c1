import Reactor

/// A clock that moves only when told to, so that timeouts are tested without sleeping.
///
/// Connections arm their timers on it as they would on the event loop; `advance(by:)` moves time
/// forward and fires, in deadline order, every timer that comes due.
public final class ManualClock: TimerScheduler {
    public private(set) var now: Instant
    private var armed: [ObjectIdentifier: (timer: Timer, deadline: Instant, order: Int)] = [:]
    private var order = 0

    public init(start: Instant = Instant(nanoseconds: 1_000_000_000)) {
        self.now = start
    }

    public func arm(_ timer: Timer, at deadline: Instant) {
        order += 1
        armed[ObjectIdentifier(timer)] = (timer, deadline, order)
    }

    public func disarm(_ timer: Timer) {
        armed[ObjectIdentifier(timer)] = nil
    }

    /// Timers armed and not yet fired.
    public var armedCount: Int { armed.count }

    /// The earliest armed deadline, if any.
    public var nextDeadline: Instant? { armed.values.map(\.deadline).min() }

    /// Moves time forward by `duration`, firing due timers in deadline order (a timer that re-arms
    /// itself within the interval fires again).
    public func advance(by duration: Duration) {
        let target = now.advanced(by: duration)
        while let next = armed.values.filter({ $0.deadline <= target }).min(by: { ($0.deadline, $0.order) < ($1.deadline, $1.order) }) {
            now = max(now, next.deadline)
            armed[ObjectIdentifier(next.timer)] = nil
            next.timer.action()
        }
        now = target
    }
}
