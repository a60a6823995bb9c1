/// A one-shot timer that a scheduler fires at a deadline. Allocated once by its owner and re-armed
/// as often as needed: arming, re-arming and disarming are O(log n) and allocate nothing, because
/// the timer stores its own position in the scheduler's heap.
///
/// The action runs on the loop thread and may arm or disarm any timer, itself included.
/// An armed timer is retained by its scheduler until it fires or is disarmed.
public final class Timer {
    /// What the timer runs when it fires, on the loop thread.
    public let action: () -> Void
    /// When armed, the deadline; nil when not armed.
    public internal(set) var deadline: Instant?
    /// Position in `TimerHeap.storage`, or -1: what makes disarm and re-arm O(log n).
    var heapIndex: Int = -1
    /// Arming order, so timers with equal deadlines fire first-armed first.
    var sequence: UInt64 = 0

    /// A disarmed timer that runs `action` each time it fires; arm it with a `TimerScheduler`.
    public init(_ action: @escaping () -> Void) { self.action = action }

    /// True while armed.
    public var isArmed: Bool { deadline != nil }
}

/// Where time comes from: the event loop, or a manual clock in tests.
public protocol TimerScheduler: AnyObject {
    /// The scheduler's current time: the monotonic clock for the event loop, the set time for a manual clock.
    var now: Instant { get }
    /// Arms `timer` (moving it if already armed) to fire once at `deadline`.
    func arm(_ timer: Timer, at deadline: Instant)
    /// Disarms `timer`; harmless if it is not armed.
    func disarm(_ timer: Timer)
}

extension TimerScheduler {
    /// Arms `timer` to fire `delay` after `now`.
    public func arm(_ timer: Timer, after delay: Duration) {
        arm(timer, at: now.advanced(by: delay))
    }
}
