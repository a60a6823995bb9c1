import Glibc
import HTTPServerReactor
import HTTPServerCore

extension SimpleHTTPRequestHandler {
    /// What `sendHead()` returns when a body follows its headers: Python's open file object.
    ///
    /// It owns the file's descriptor until `write(to:)` hands it to the response writer; a body that
    /// is never written (HEAD, or a subclass that decides otherwise) closes it when released.
    public final class Body {
        /// A piece of the body: bytes, or a region of the file.
        public enum Part: Equatable, Sendable {
            /// These bytes, as they are.
            case bytes([UInt8])
            /// This byte range of the open file, sent with `sendfile`.
            case file(Range<Int>)
        }

        /// The open file, or -1 for a body made of bytes alone.
        public private(set) var fd: Int32
        /// The pieces, in order.
        public var parts: [Part]

        /// A body of bytes (the listing page).
        public init(bytes: [UInt8]) {
            fd = -1
            parts = [.bytes(bytes)]
        }

        /// A body taking ownership of an open file descriptor.
        public init(fd: Int32, parts: [Part] = []) {
            self.fd = fd
            self.parts = parts
        }

        /// The body's length in bytes.
        public var count: Int {
            parts.reduce(0) { total, part in
                switch part {
                case .bytes(let bytes): return total + bytes.count
                case .file(let range): return total + range.count
                }
            }
        }

        /// Queues every part on `wfile`. File regions go out with `sendfile`; all but the last get
        /// a duplicate descriptor, since each region owns (and closes) its own.
        public func write(to wfile: ResponseWriter) {
            let lastFileIndex = parts.lastIndex { if case .file = $0 { return true } else { return false } }
            for (index, part) in parts.enumerated() {
                switch part {
                case .bytes(let bytes):
                    if !bytes.isEmpty { wfile.write(bytes) }
                case .file(let range):
                    guard fd >= 0, !range.isEmpty else { continue }
                    if index == lastFileIndex {
                        wfile.sendFile(FileDescriptor(rawValue: fd), range: range)
                        fd = -1
                    } else {
                        let copy = dup(fd)
                        if copy >= 0 {
                            wfile.sendFile(FileDescriptor(rawValue: copy), range: range)
                        } else {
                            wfile.write(Self.read(fd, range))   // out of descriptors: copy instead
                        }
                    }
                }
            }
        }

        /// `range` of the file, read with `pread` (zero-filled where the file has shrunk).
        static func read(_ fd: Int32, _ range: Range<Int>) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: range.count)
            var done = 0
            bytes.withUnsafeMutableBytes { buffer in
                while done < range.count {
                    let n = pread(fd, buffer.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
                    if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { break }
                }
            }
            return bytes
        }

        deinit {
            if fd >= 0 { close(fd) }
        }
    }
}
