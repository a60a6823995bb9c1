import HTTPServerReactor

/// A clock that moves only when told to, so that timeouts are tested without sleeping.
///
/// Connections arm their timers on it as they would on the event loop; `advance(by:)` moves time
/// forward and fires, in deadline order, every timer that comes due.
///
/// ```swift
/// client.clock.advance(by: .seconds(59))   // nothing yet
/// client.clock.advance(by: .seconds(2))    // the head timeout fires: 408
/// ```
public final class ManualClock: TimerScheduler {
    /// The current virtual time.
    public private(set) var now: Instant
    private var armed: [ObjectIdentifier: (timer: Timer, deadline: Instant, order: Int)] = [:]
    private var order = 0

    /// A clock standing at `start` (one second after the zero of the monotonic clock by default).
    public init(start: Instant = Instant(nanoseconds: 1_000_000_000)) {
        self.now = start
    }

    /// Arms `timer` (moving it if already armed) to fire when the clock reaches `deadline`.
    public func arm(_ timer: Timer, at deadline: Instant) {
        order += 1
        armed[ObjectIdentifier(timer)] = (timer, deadline, order)
    }

    /// Disarms `timer`; harmless if it is not armed.
    public func disarm(_ timer: Timer) {
        armed[ObjectIdentifier(timer)] = nil
    }

    /// Timers armed and not yet fired.
    public var armedCount: Int { armed.count }

    /// The earliest armed deadline, if any.
    public var nextDeadline: Instant? { armed.values.map(\.deadline).min() }

    /// The time from now to the earliest armed deadline (zero if it is past), if any.
    public var timeToNextDeadline: Duration? {
        nextDeadline.map { now.duration(to: max(now, $0)) }
    }

    /// Moves time forward by `duration`, firing due timers in deadline order (a timer that re-arms
    /// itself within the interval fires again).
    public func advance(by duration: Duration) {
        let target = now.advanced(by: duration)
        while let next = armed.values.filter({ $0.deadline <= target })
            .min(by: { ($0.deadline, $0.order) < ($1.deadline, $1.order) }) {
            now = max(now, next.deadline)
            armed[ObjectIdentifier(next.timer)] = nil
            next.timer.action()
        }
        now = max(now, target)
    }

    /// Moves time to the earliest armed deadline and fires what is due then. Returns false (and
    /// does not move) when no timer is armed.
    @discardableResult
    public func advanceToNextDeadline() -> Bool {
        guard let step = timeToNextDeadline else { return false }
        advance(by: step)
        return true
    }
}
