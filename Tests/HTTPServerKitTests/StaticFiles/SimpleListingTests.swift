import Foundation
import Testing
import HTTPServerKit
@testable import HTTPServerStaticFiles

/// The listing HTML, byte for byte against CPython 3.11's `list_directory` run on the same folder.
@Suite struct SimpleListingTests {
    /// Names that exercise escaping, quoting, sorting and the file system encoding.
    static let fileNames: [[UInt8]] = [
        "plain.txt", "with space.txt", "<b>&\"'.html", "caf\u{e9}.txt", "CAF\u{c9}.md", "B", "a", "A", "b",
        "\u{65e5}\u{672c}.txt", "emoji-\u{1F600}.bin", "percent%41.txt", "hash#q?.txt", "tab\tname", "\u{130}stanbul",
        "~tilde-_.x", "+plus=eq;semi", ".hidden",
    ].map { Array($0.utf8) } + [[0x66, 0xFF, 0x2E, 0x62, 0x69, 0x6E], [0xC3, 0x28], [0xED, 0xA0, 0x80]]

    static func makeTree() throws -> String {
        let root = NSTemporaryDirectory() + "simple-listing-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for name in fileNames {
            let fd = (Array(root.utf8) + [0x2F] + name + [0]).withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            #expect(fd >= 0)
            close(fd)
        }
        for dir in ["sub dir", "Zdir", "<dir>"] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/link-to-file", withDestinationPath: "plain.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/link-to-dir", withDestinationPath: "sub dir")
        try FileManager.default.createSymbolicLink(atPath: root + "/broken-link", withDestinationPath: "nowhere")
        return root
    }

    /// CPython's `list_directory(path)` body for a request path.
    static func pythonListing(directory: String, requestPath: String) throws -> [UInt8] {
        let script = """
        import sys
        from http.server import SimpleHTTPRequestHandler as H
        h = H.__new__(H)
        h.path = sys.argv[2]
        h.send_response = h.send_header = lambda *a: None
        h.end_headers = lambda: None
        sys.stdout.buffer.write(h.list_directory(sys.argv[1]).read())
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory, requestPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Array(data)
    }

    @Test(arguments: ["/", "/?q=%3Cx%3E&a=1", "/caf%C3%A9/", "/%ff%fe/", "/%ED%B3%BF/", "/<&>\"/", "/a%2Fb/#frag", "/\u{e9}/"])
    func listingMatchesCPythonByteForByte(_ requestPath: String) throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let listing = try #require(DirectoryListing(readingDirectory: root))
        let ours = listing.html(requestPath: requestPath)
        let theirs = try Self.pythonListing(directory: root, requestPath: requestPath)
        #expect(ours == theirs, "\n\(String(decoding: ours, as: UTF8.self))\n---\n\(String(decoding: theirs, as: UTF8.self))")
    }

    @Test func unreadableDirectoryIsNil() {
        #expect(DirectoryListing(readingDirectory: "/nonexistent-\(getpid())") == nil)
    }

    @Test func quoteMatchesURLLib() {
        #expect(DirectoryListing.quote("a b/c~d_e.f-g") == "a%20b/c~d_e.f-g")
        #expect(DirectoryListing.quote("\u{e9}<&>\"'?#%") == "%C3%A9%3C%26%3E%22%27%3F%23%25")
    }
}
