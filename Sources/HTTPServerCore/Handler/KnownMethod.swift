import Glibc

/// The methods that have a `doXXX()` of their own, recognised from the raw token.
enum KnownMethod {
    case get, head, post, put, delete, options, patch, trace, connect, other

    init(_ token: UnsafeRawBufferPointer) {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == token.count
                && memcmp(literal.utf8Start, token.baseAddress!, token.count) == 0
        }
        switch token.count {
        case 3 where equals("GET"): self = .get
        case 3 where equals("PUT"): self = .put
        case 4 where equals("HEAD"): self = .head
        case 4 where equals("POST"): self = .post
        case 5 where equals("PATCH"): self = .patch
        case 5 where equals("TRACE"): self = .trace
        case 6 where equals("DELETE"): self = .delete
        case 7 where equals("OPTIONS"): self = .options
        case 7 where equals("CONNECT"): self = .connect
        default: self = .other
        }
    }
}
