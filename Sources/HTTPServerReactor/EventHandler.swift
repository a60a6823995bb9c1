/// Receives readiness events for one registered descriptor. Called on the loop thread.
///
/// EPOLLHUP and EPOLLERR are delivered as `readable()` when read interest is set, and as
/// `writable()` when write interest is set: the next read or write reports what happened.
public protocol EventHandler: AnyObject {
    /// The descriptor is readable (or hung up / in error) and read interest is set.
    func readable()
    /// The descriptor is writable (or hung up / in error) and write interest is set.
    func writable()
    /// The peer closed or reset while only `.hangup` interest was set (once per hang-up).
    func hangup()
}

extension EventHandler {
    public func hangup() {}
}

/// Which readiness events a registration wants.
///
/// An empty interest takes the descriptor out of epoll altogether (EPOLL_CTL_DEL, re-added on the next
/// non-empty interest): epoll reports EPOLLHUP/EPOLLERR even with no events requested, which on a
/// level-triggered loop would spin at 100% CPU for a paused connection whose peer went away.
public struct Interest: OptionSet, Hashable, Sendable {
    /// The interest as bits: 1 read, 2 write, 4 hangup, 8 edge, 16 exclusive.
    public let rawValue: UInt8
    /// The interest with these bits (see `rawValue`).
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Call `readable()` when the descriptor has bytes to read, end of file or an error (EPOLLIN).
    public static let read = Interest(rawValue: 1)
    /// Call `writable()` when the descriptor can take more bytes, or is in error (EPOLLOUT).
    public static let write = Interest(rawValue: 2)
    /// Without `.read`: tells `hangup()` once when the peer closes or resets (EPOLLRDHUP,
    /// edge-triggered), so that a socket whose reading is paused still hears that its client left,
    /// without the level-triggered spin an unread hang-up would cause.
    public static let hangup = Interest(rawValue: 4)
    /// With `.read` or `.write`: edge-triggered (EPOLLET). The handler must then read until a short
    /// read (or EAGAIN), since the same data is not reported twice.
    public static let edge = Interest(rawValue: 8)
    /// With `.read`: EPOLLEXCLUSIVE, for a descriptor registered in several loops (a listening
    /// socket shared by N reactors): an event wakes one loop waiting in `epoll_wait`, not all of
    /// them. Linux refuses `EPOLL_CTL_MOD` on such a registration, so changing the interest of one
    /// goes through `EPOLL_CTL_DEL` and `EPOLL_CTL_ADD` (as emptying and setting it again does).
    public static let exclusive = Interest(rawValue: 16)
    /// No events: the descriptor is out of epoll until a non-empty interest is set.
    public static let none: Interest = []
}

/// A registration in an `EventLoop`: the descriptor and the generation that tells it apart from a
/// later registration of the same (reused) descriptor number.
public struct Registration: Hashable, Sendable {
    /// The registered descriptor.
    public let fd: Int32
    /// Tells this registration apart from an earlier or later one of the same descriptor number, so
    /// that an event queued for a closed descriptor never reaches the handler of its successor.
    public let generation: UInt32

    /// What goes into `epoll_event.data.u64`.
    var token: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd)) }

    init(fd: Int32, generation: UInt32) {
        self.fd = fd
        self.generation = generation
    }

    init(token: UInt64) {
        self.fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
        self.generation = UInt32(truncatingIfNeeded: token >> 32)
    }
}
