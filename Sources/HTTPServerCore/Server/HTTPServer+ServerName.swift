import Glibc
import HTTPServerReactor

extension HTTPServer {
    /// Python's `socket.getfqdn(host)`: the wildcard address names this machine; an address with a
    /// reverse name gets that name; anything else stays as it is.
    static func fullyQualifiedName(of address: SocketAddress) -> String {
        let host = address.host
        if host == "0.0.0.0" || host == "::" {
            var name = [CChar](repeating: 0, count: 256)
            if gethostname(&name, name.count) == 0 {
                return String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return host
        }
        if host == "127.0.0.1" || host == "::1" { return "localhost" }
        return host
    }
}
