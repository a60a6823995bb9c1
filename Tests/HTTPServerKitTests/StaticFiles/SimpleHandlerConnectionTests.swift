import Foundation
import Glibc
import HTTPServerKit
import HTTPServerTesting
import Testing

/// SimpleHTTPRequestHandler over the fake transport: ranges, validators, hostile paths, and what
/// it does beyond Python.
@Suite struct SimpleHandlerConnectionTests {
    /// Files get an old modification time, so their entity tags are strong.
    static let modified: Int64 = 1_700_000_000

    final class Fixture {
        let tree: SimpleTestTree
        init() throws {
            tree = try SimpleTestTree()
            for name in ["text.txt", "large.bin", "empty.txt", "binary.bin"] {
                var times = [timespec(tv_sec: Int(SimpleHandlerConnectionTests.modified), tv_nsec: 0),
                             timespec(tv_sec: Int(SimpleHandlerConnectionTests.modified), tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, tree.served + "/" + name, &times, 0)
            }
        }
        deinit { tree.remove() }

        func client(_ configure: @escaping (SimpleHTTPRequestHandler) -> Void = { _ in }) throws -> TestClient {
            let directory = tree.served
            return TestClient(handlerFactory: {
                let handler = SimpleHTTPRequestHandler(directory: directory)
                configure(handler)
                return handler
            })
        }

        func get(_ target: String, _ headers: [String] = [], method: String = "GET") throws -> TestResponse {
            let request = "\(method) \(target) HTTP/1.0\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
            return try client().send(request)
        }
    }

    static let text = Array("Hello, world!\nSecond line.\n".utf8)

    @Test func wholeFileHasValidatorsAndPythonsHeaders() throws {
        let f = try Fixture()
        let r = try f.get("/text.txt")
        #expect(r.status == 200)
        #expect(r.headers.fields.map(\.name) == ["Server", "Date", "Content-type", "Content-Length", "Last-Modified", "Accept-Ranges", "ETag"])
        #expect(r.headers["Content-Length"] == String(Self.text.count))
        #expect(r.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(r.headers["ETag"] == "\"6553f100.0-1b\"")
        #expect(r.body == Self.text)
        #expect(r.headers["Server"] == "SimpleHTTP/0.6 " + r.headers["Server"]!.split(separator: " ").last!)
    }

    final class Simple11: SimpleHTTPRequestHandler {
        override var protocolVersion: String { "HTTP/1.1" }
    }

    /// Over a real socket on a connection kept alive, every kind of file response arrives whole:
    /// the empty file, ranges, HEAD, the large file.
    @Test func fileResponsesArriveWholeOnAKeptAliveSocket() throws {
        let f = try Fixture()
        let directory = f.tree.served
        let client = try TestClient(mode: .loopback, handlerFactory: { Simple11(directory: directory) })
        let large = try #require(FileManager.default.contents(atPath: directory + "/large.bin"))
        for _ in 0..<2 {
            let empty = try client.send("GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(empty.status == 200 && empty.body.isEmpty)
            let text = try client.send("GET /text.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(text.body == Self.text)
            let head = try client.send("HEAD /text.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(head.status == 200 && head.headers["Content-Length"] == String(Self.text.count))
            let ranges = try client.send("GET /text.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,4-5\r\n\r\n")
            #expect(ranges.status == 206)
            let whole = try client.send("GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(whole.body.count == large.count && whole.body.elementsEqual(large))
        }
    }

    static let singleRanges: [(String, Range<Int>)] = [
        ("bytes=0-4", 0..<5), ("bytes=7-", 7..<27), ("bytes=-6", 21..<27), ("bytes=20-1000", 20..<27), ("bytes=0-0", 0..<1),
    ]

    @Test(arguments: singleRanges)
    func singleRange(_ header: String, _ range: Range<Int>) throws {
        let r = try Fixture().get("/text.txt", ["Range: \(header)"])
        #expect(r.status == 206)
        #expect(r.headers["Content-Range"] == "bytes \(range.lowerBound)-\(range.upperBound - 1)/27")
        #expect(r.headers["Content-Length"] == String(range.count))
        #expect(r.body == Array(Self.text[range]))
    }

    @Test func multipleRangesAreMultipart() throws {
        let r = try Fixture().get("/text.txt", ["Range: bytes=0-4, -6"])
        #expect(r.status == 206)
        let type = try #require(r.headers["Content-type"])
        #expect(type.hasPrefix("multipart/byteranges; boundary="))
        let boundary = String(type.dropFirst("multipart/byteranges; boundary=".count))
        let expected = "\r\n--\(boundary)\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/27\r\n\r\nHello"
            + "\r\n--\(boundary)\r\nContent-Type: text/plain\r\nContent-Range: bytes 21-26/27\r\n\r\nline.\n"
            + "\r\n--\(boundary)--\r\n"
        #expect(r.bodyText == expected)
        #expect(r.headers["Content-Length"] == String(r.body.count))
    }

    @Test func unsatisfiableRangeIs416WithContentRange() throws {
        let r = try Fixture().get("/text.txt", ["Range: bytes=27-"])
        #expect(r.status == 416)
        #expect(r.headers["Content-Range"] == "bytes */27")
        #expect(r.headers["Content-Type"] == "text/html;charset=utf-8")
    }

    @Test func rangeIsIgnoredForHEADAndEmptyFilesAndBadSyntax() throws {
        let f = try Fixture()
        #expect(try f.get("/text.txt", ["Range: bytes=0-4"], method: "HEAD").status == 200)
        #expect(try f.get("/empty.txt", ["Range: bytes=0-4"]).status == 200)
        #expect(try f.get("/text.txt", ["Range: bytes=4-0"]).body == Self.text)
        #expect(try f.get("/text.txt", ["Range: lines=1-2"]).status == 200)
    }

    @Test func ifRange() throws {
        let f = try Fixture()
        let tag = "\"6553f100.0-1b\""
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: \(tag)"]).status == 206)
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: \"other\""]).status == 200)
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: W/\(tag)"]).status == 200)
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: Tue, 14 Nov 2023 22:13:20 GMT"]).status == 206)
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: Tue, 14 Nov 2023 22:13:21 GMT"]).status == 200)
        #expect(try f.get("/text.txt", ["Range: bytes=0-4", "If-Range: nonsense"]).status == 200)
    }

    @Test func ifNoneMatchWinsOverIfModifiedSince() throws {
        let f = try Fixture()
        let tag = "\"6553f100.0-1b\""
        let notModified = try f.get("/text.txt", ["If-None-Match: \(tag)"])
        #expect(notModified.status == 304 && notModified.body.isEmpty)
        #expect(notModified.headers["ETag"] == tag)
        #expect(try f.get("/text.txt", ["If-None-Match: \"a\", W/\(tag)"]).status == 304)
        #expect(try f.get("/text.txt", ["If-None-Match: *"]).status == 304)
        #expect(try f.get("/text.txt", ["If-None-Match: \"a\"", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"]).status == 200)
        #expect(try f.get("/text.txt", ["If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT"]).status == 304)
        #expect(try f.get("/text.txt", ["If-Modified-Since: Tue, 14 Nov 2023 22:13:19 GMT"]).status == 200)
    }

    @Test func offSiteRedirectIsRefusedAndNULIsABadRequest() throws {
        let f = try Fixture()
        #expect(try f.get("/\\evil.example/%2f..").status == 404)
        #expect(try f.get("/%5Cevil.example/%2f..").status == 301)   // "/%5C…/" is a path on this host
        let nul = try f.get("/text.txt%00.html")
        #expect(nul.status == 400)
    }

    @Test func fifoIsNotServedAndDoesNotBlock() throws {
        let f = try Fixture()
        #expect(mkfifo(f.tree.served + "/pipe", 0o644) == 0)
        #expect(try f.get("/pipe").status == 404)
    }

    @Test func indexPagesMustBeRegularFilesAndAreConfigurable() throws {
        let f = try Fixture()
        let listing = try f.get("/indexdir/")
        #expect(listing.status == 200 && listing.bodyText.contains("<a href=\"index.html/\">index.html/</a>"))
        let custom = try f.client { $0.indexPages = ["other.txt"] }.send("GET /withindex/ HTTP/1.0\r\n\r\n")
        #expect(custom.bodyText == "other\n")
    }

    @Test func extensionsMapOverrides() throws {
        let f = try Fixture()
        let r = try f.client { $0.extensionsMap[".txt"] = "text/plain; charset=utf-8" }.send("HEAD /text.txt HTTP/1.0\r\n\r\n")
        #expect(r.headers["Content-type"] == "text/plain; charset=utf-8")
    }

    /// Hostile paths: nothing outside the served folder is ever sent, and a redirect stays on this host.
    static let hostileTargets: [String] = SimpleHandlerUnitTests.hostilePaths.filter { $0.hasPrefix("/") } + [
        "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub/../../secret.txt", "//../secret.txt",
        "/%2e%2e%5csecret.txt", "/..\\secret.txt", "/.%2e/secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
        "/link-to-dir/../../secret.txt", "/%00../secret.txt", "/secret.txt", "/\\..\\secret.txt",
    ]

    @Test(arguments: hostileTargets)
    func hostilePathNeverEscapes(_ target: String) throws {
        let r = try Fixture().get(target)
        #expect(!r.bodyText.contains("TOP SECRET"))
        #expect(!r.bodyText.contains("root:x:0:0"))
        if r.status == 301, let location = r.headers["Location"] {
            #expect(location.hasPrefix("/") && !location.hasPrefix("//") && !location.hasPrefix("/\\"), "\(location)")
        }
        #expect([200, 301, 400, 404].contains(r.status))
    }
}
