/// Counts the TLS records in the ciphertext OpenSSL writes, as it is written (in pieces of any
/// size), so that kernel TLS can take over at the right sequence number. It keeps, of each record,
/// only its type and the first 8 bytes of its fragment (in TLS 1.2 with AES-GCM, the explicit
/// nonce: RFC 5288 §3).
struct TLSRecordCounter {
    /// Where the next byte falls (RFC 8446 §5.1, RFC 5246 §6.2: a 5-byte header with the content
    /// type, the version and the fragment's length, then the fragment).
    enum Position: Equatable {
        case header(collected: Int)
        case fragment(offset: Int, length: Int)
    }

    private(set) var position = Position.header(collected: 0)
    /// Records complete so far.
    private(set) var recordCount = 0
    /// Records complete since the last ChangeCipherSpec record (content type 20), not counting it:
    /// in TLS 1.2 the sequence number of the next record under the new keys. Nil before one.
    private(set) var recordsSinceChangeCipherSpec: Int?
    /// The first 8 bytes of the last complete record's fragment, big-endian; nil if it was shorter.
    private(set) var lastFragmentPrefix: UInt64?
    /// A header that no TLS 1.2 or 1.3 record has (type, version or length): counting stopped.
    private(set) var isMalformed = false

    private var header: UInt64 = 0
    private var prefix: UInt64 = 0

    /// The largest fragment: 2^14 plus RFC 5246 §6.2.3's allowance for a cipher's expansion.
    static let maximumFragment = 16_384 + 2_048

    /// True when every byte seen so far belongs to a complete record.
    var isAtRecordBoundary: Bool { !isMalformed && position == .header(collected: 0) }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        while index < bytes.count, !isMalformed {
            switch position {
            case .header(let collected):
                header = header << 8 | UInt64(bytes[index])
                index += 1
                if collected + 1 < 5 {
                    position = .header(collected: collected + 1)
                } else {
                    startFragment()
                }
            case .fragment(let offset, let length):
                // Only the first 8 bytes are kept; the rest is skipped whole.
                var offset = offset
                while offset < 8, offset < length, index < bytes.count {
                    prefix = prefix << 8 | UInt64(bytes[index])
                    offset += 1
                    index += 1
                }
                let skip = min(length - offset, bytes.count - index)
                offset += skip
                index += skip
                if offset == length {
                    finishRecord(length: length)
                } else {
                    position = .fragment(offset: offset, length: length)
                }
            }
        }
    }

    private mutating func startFragment() {
        let type = UInt8(truncatingIfNeeded: header >> 32)
        let major = UInt8(truncatingIfNeeded: header >> 24)
        let length = Int(header & 0xFFFF)
        // Content types 20 (ChangeCipherSpec) to 23 (application data); version 3.x.
        guard (20...23).contains(type), major == 3, length <= Self.maximumFragment else {
            isMalformed = true
            return
        }
        prefix = 0
        if length == 0 {
            finishRecord(length: 0)
        } else {
            position = .fragment(offset: 0, length: length)
        }
    }

    private mutating func finishRecord(length: Int) {
        let type = UInt8(truncatingIfNeeded: header >> 32)
        recordCount += 1
        if type == 20 {
            recordsSinceChangeCipherSpec = 0
        } else if let since = recordsSinceChangeCipherSpec {
            recordsSinceChangeCipherSpec = since + 1
        }
        lastFragmentPrefix = length >= 8 ? prefix : nil
        header = 0
        position = .header(collected: 0)
    }
}
