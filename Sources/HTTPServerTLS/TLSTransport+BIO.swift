import CHTTPServerOpenSSL
import HTTPServerReactor

// The BIO between OpenSSL and the lower transport. Reading gives OpenSSL the bytes being received
// (or those kept from earlier), and asks it to retry when there are none; writing appends to the
// context's ciphertext buffer, which the transport writes out at the end of each operation.
// Copying the bytes through a memory BIO instead would keep a buffer per connection.
extension TLSTransport {
    static func makeBIOMethod() -> OpaquePointer {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
        guard let method = BIO_meth_new(type, "http-server transport") else {
            fatalError("BIO_meth_new failed: out of memory")
        }
        BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        BIO_meth_set_read(method) { bio, buffer, length in
            guard let bio, let buffer, let data = BIO_get_data(bio) else { return -1 }
            let transport = Unmanaged<TLSTransport>.fromOpaque(data).takeUnretainedValue()
            return transport.bioRead(bio, into: UnsafeMutableRawPointer(buffer), count: Int(length))
        }
        BIO_meth_set_write(method) { bio, buffer, length in
            guard let bio, let buffer, let data = BIO_get_data(bio) else { return -1 }
            let transport = Unmanaged<TLSTransport>.fromOpaque(data).takeUnretainedValue()
            chso_bio_clear_retry_flags(bio)
            let context = transport.context
            let count = Int(length)
            context.reserveCiphertext(count)
            (context.ciphertext + context.ciphertextCount).copyMemory(from: buffer, byteCount: count)
            context.ciphertextCount += count
            if case .pending(let candidate) = transport.kernelTLS {
                candidate.counter.consume(UnsafeRawBufferPointer(start: buffer, count: count))
            }
            return length
        }
        BIO_meth_set_ctrl(method) { _, command, _, _ in
            command == BIO_CTRL_FLUSH ? 1 : 0
        }
        return method
    }

    func bioRead(_ bio: OpaquePointer, into buffer: UnsafeMutableRawPointer, count: Int) -> Int32 {
        chso_bio_clear_retry_flags(bio)
        if pendingInputOffset < pendingInput.count {
            let take = min(count, pendingInput.count - pendingInputOffset)
            pendingInput.withUnsafeBytes { bytes in
                buffer.copyMemory(from: bytes.baseAddress! + pendingInputOffset, byteCount: take)
            }
            pendingInputOffset += take
            return Int32(take)
        }
        if let input = currentInput, currentInputOffset < input.count {
            let take = min(count, input.count - currentInputOffset)
            buffer.copyMemory(from: input.baseAddress! + currentInputOffset, byteCount: take)
            currentInputOffset += take
            return Int32(take)
        }
        chso_bio_set_retry_read(bio)
        return -1
    }

    /// Drops the buffer of kept input once OpenSSL has read all of it.
    func releaseConsumedInput() {
        guard pendingInputOffset >= pendingInput.count, pendingInput.capacity > 0 else { return }
        pendingInput = []
        pendingInputOffset = 0
    }
}
