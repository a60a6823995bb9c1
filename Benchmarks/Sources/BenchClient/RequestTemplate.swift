// The bytes `bench` sends: one request, built once, repeated `depth` times for pipelining.

/// A request to send over and over.
public struct RequestTemplate: Sendable {
    public var method: String
    public var path: String
    public var host: String
    /// Extra header lines, `Name: value`, in order.
    public var headers: [String]
    public var body: [UInt8]
    /// Sends `Expect: 100-continue` and holds the body back until `100 Continue` (or a timeout).
    public var expectContinue: Bool
    /// `Connection: close` on every request: one request per connection.
    public var connectionClose: Bool

    public init(method: String = "GET", path: String = "/", host: String = "127.0.0.1",
                headers: [String] = [], body: [UInt8] = [], expectContinue: Bool = false,
                connectionClose: Bool = false) {
        self.method = method; self.path = path; self.host = host; self.headers = headers
        self.body = body; self.expectContinue = expectContinue; self.connectionClose = connectionClose
    }

    /// True when the response carries no body (HEAD).
    public var expectsNoResponseBody: Bool { method == "HEAD" }

    /// The head, CRLF CRLF included.
    public var head: [UInt8] {
        var s = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for h in headers { s += h + "\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { s += "Content-Length: \(body.count)\r\n" }
        if expectContinue { s += "Expect: 100-continue\r\n" }
        if connectionClose { s += "Connection: close\r\n" }
        s += "\r\n"
        return Array(s.utf8)
    }

    /// Head and body, `depth` times over: what one pipelined batch writes at once.
    public func batch(depth: Int) -> [UInt8] {
        let one = head + body
        var out: [UInt8] = []
        out.reserveCapacity(one.count * depth)
        for _ in 0..<depth { out += one }
        return out
    }
}
