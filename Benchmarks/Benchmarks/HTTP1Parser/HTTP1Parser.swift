// Parser throughput on a small corpus: `swift package benchmark --target HTTP1Parser`.
// Each iteration parses one whole corpus entry (all its requests, bodies included) with a parser
// reused across iterations, as a connection reuses it across keep-alive requests.
import Benchmark
import HTTPServerHTTP1

let curlGET = Array("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n".utf8)

let browserGET: [UInt8] = {
    var s = "GET /account/settings?tab=notifications&lang=en HTTP/1.1\r\n"
    s += "Host: www.example.com\r\n"
    s += "Connection: keep-alive\r\n"
    s += "sec-ch-ua: \"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\", \"Not?A_Brand\";v=\"99\"\r\n"
    s += "sec-ch-ua-mobile: ?0\r\n"
    s += "sec-ch-ua-platform: \"Linux\"\r\n"
    s += "Upgrade-Insecure-Requests: 1\r\n"
    s += "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n"
    s += "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n"
    s += "Sec-Fetch-Site: same-origin\r\n"
    s += "Sec-Fetch-Mode: navigate\r\n"
    s += "Sec-Fetch-User: ?1\r\n"
    s += "Sec-Fetch-Dest: document\r\n"
    s += "Referer: https://www.example.com/account\r\n"
    s += "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    s += "Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n"
    s += "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; csrftoken=Qm9vdHN0cmFwQ1NSRlRva2VuVmFsdWUxMjM0NTY3ODkw; "
    s += "_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; theme=dark; tz=Europe%2FLondon\r\n"
    s += "\r\n"
    return Array(s.utf8)
}()

let chunkedPOST: [UInt8] = {
    var s = "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    for size in [64, 256, 1024, 17] {
        s += String(size, radix: 16) + "\r\n" + String(repeating: "x", count: size) + "\r\n"
    }
    s += "0\r\n\r\n"
    return Array(s.utf8)
}()

let pipelined16: [UInt8] = Array((0..<16).flatMap { i in
    "GET /item/\(i) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".utf8
})

/// Parses every request in `bytes`; returns the number of requests (so the work is not optimized away).
@inline(never)
func parseAll(_ parser: inout RequestParser, _ bytes: UnsafeRawBufferPointer) -> Int {
    var offset = 0
    var requests = 0
    var bodyBytes = 0
    var inMessage = false  // after .head, .end may come from a call with no bytes left
    while offset < bytes.count || inMessage {
        let step: ParseStep
        do throws(ParseError) {
            step = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        } catch {
            fatalError("corpus entry failed to parse: \(error)")
        }
        switch step {
        case .needMore(let consumed):
            precondition(consumed > 0, "corpus entry is incomplete")
            offset += consumed
        case .head(let consumed):
            inMessage = true
            offset += consumed
        case .body(let range):
            bodyBytes &+= range.count
            offset += range.upperBound
        case .end(let consumed):
            offset += consumed
            requests += 1
            inMessage = false
            parser.reset()
        }
    }
    blackHole(bodyBytes)
    return requests
}

let corpus: [(String, [UInt8], Int)] = [
    // Names without spaces: the static thresholds files are named after them.
    ("ParseCurlGET", curlGET, 1),
    ("ParseBrowserGETWithCookies", browserGET, 1),
    ("ParseChunkedPOST", chunkedPOST, 1),
    ("ParsePipelined16GETs", pipelined16, 16),
]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .instructions, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 1000,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        // The parser allocates nothing in steady state; anything else is a regression.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
    for (name, bytes, expected) in corpus {
        Benchmark(name) { benchmark in
            var parser = RequestParser()
            bytes.withUnsafeBytes { raw in
                precondition(parseAll(&parser, raw) == expected)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(parseAll(&parser, raw))
                }
                benchmark.stopMeasurement()
            }
        }
    }
}
