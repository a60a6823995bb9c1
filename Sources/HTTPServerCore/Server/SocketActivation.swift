import Glibc

/// Listening sockets inherited from the parent process, so that a service manager can hold the
/// socket while it restarts the server: connections that arrive in between wait in the listen
/// backlog instead of being refused.
public enum SocketActivation {
    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3

    /// The descriptors systemd passed to this process (`LISTEN_FDS` descriptors from 3 on, when
    /// `LISTEN_PID` is this process), as `sd_listen_fds(1)` finds them: the variables are then
    /// removed, so that child processes (CGI scripts) do not take the sockets for theirs.
    public static func systemdDescriptors() -> [Int32] {
        defer {
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pidText = getenv("LISTEN_PID").map({ String(cString: $0) }), let pid = Int32(pidText),
              pid == getpid(),
              let countText = getenv("LISTEN_FDS").map({ String(cString: $0) }), let count = Int32(countText),
              count > 0, count < 1024
        else { return [] }
        return (0..<count).map { firstDescriptor + $0 }
    }
}
