import HTTPServerHTTP1

/// Input: the parser's steps, told to the state machine.
extension HTTPConnection {
    /// Parses and handles as many requests as `buffer` holds. Returns how many bytes were consumed;
    /// the caller keeps the rest for the next read.
    func process(_ buffer: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        defer {
            // The head's ranges point into `buffer`; keep a copy if the request outlives it.
            if machine.requestOutlivesRead, case .inReadBuffer = exchange.head { saveHead() }
        }
        while true {
            switch machine.inputAvailable(bytesLeft: offset < buffer.count) {
            case .parse:
                break
            case .stop:
                return offset
            case .holdForHandler:
                // Hold further input in the socket, not in memory, until the handler is ready;
                // but a handler watching for the client's close keeps reading while none comes.
                if offset < buffer.count || exchangeStorage?.clientCloseWatcher == nil { holdInputForHandler() }
                return offset
            case .discard:
                return buffer.count
            }
            // More requests waiting behind a large response: parse no further until it drains.
            // (With nothing left to parse, flushOutput decides, after it has tried to write.)
            // (A worker's output is not the reactor's to count; a worker's body holds the rest back.)
            if offset < buffer.count && workerJob == nil && output.count > context.configuration.outputHighWatermark {
                if machine.outputBacklogged() == .pauseReading { transport.pauseReading() }
                return offset
            }
            if offset == buffer.count && machine.state == .awaitingRequest {
                return offset  // everything read has been handled
            }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            let step: ParseStep
            exchange.isParserUsed = true
            do {
                step = try parser.parse(slice)
            } catch {
                if machine.isAwaitingDeferredResponse || machine.isStreamingToWorker {
                    // The streamed body turned out malformed after the handler started answering.
                    if case .refuse(let reportsStreamEnd) = machine.streamMalformed() {
                        if workerJob == nil { handler?.closeConnection = true }
                        if reportsStreamEnd { reportStreamEnd(complete: false) }
                    }
                    return buffer.count
                }
                if case .saved = exchange.head {} else { exchange.head = .inReadBuffer(slice) }
                failRequest(error, detail: .parser(slice))
                return buffer.count
            }
            switch step {
            case .needMore(let consumed):
                offset += consumed
                if case .schedule(let kind) = machine.parserNeedsMore(isMidMessage: parser.isMidMessage) {
                    context.timeouts.schedule(self, kind)
                }
                return offset
            case .head(let consumed):
                exchange.head = .inReadBuffer(slice)
                exchange.headLength = consumed
                offset += consumed
                headReceived()
            case .body(let range):
                offset += range.upperBound
                bodyReceived(UnsafeRawBufferPointer(rebasing: slice[range]))
            case .end(let consumed):
                if !parser.trailers.isEmpty { collectTrailers(slice) }
                offset += consumed
                switch machine.bodyEnded() {
                case .dispatch:
                    if case .none = exchange.head { exchange.head = .inReadBuffer(slice) }
                    dispatch()
                case .reportStreamEnd(let complete):
                    // The handler may finish its response from `onEnd`: the request is then
                    // finished (and the connection may have moved on, or closed).
                    reportStreamEnd(complete: complete)
                case .keepParsing:
                    break
                }
            }
        }
    }

    private func headReceived() {
        requestCount += 1
        let handler = ensureHandler()
        let method = withHeadBytes { KnownMethod(UnsafeRawBufferPointer(rebasing: $0[parser.head.method])) }
        // The head's fields one by one: a copy of the whole head would retain its field list.
        let framing = parser.head.framing
        var reachesLimit = false
        if let limit = context.configuration.maxRequestsPerConnection, requestCount >= limit { reachesLimit = true }
        switch machine.headReceived(clientKeepsAlive: parser.head.clientKeepsAlive, reachesRequestLimit: reachesLimit) {
        case .beginRequest(let serverCloses):
            handler.beginRequest(method: method, serverCloses: serverCloses)
        case .close:
            close()
            return
        }
        if framing == .none {
            return  // the parser reports `.end` next
        }
        context.timeouts.schedule(self, .body)
        let streams = handler.wantsStreamingBody()
        if !streams, let limit = context.bufferedBodyLimit, case .contentLength(let length) = framing, length > limit {
            failRequest(ParseError(.bodyTooLarge, status: 413), detail: .refusedAfterHead)
            return
        }
        if parser.head.expectsContinue && parser.head.version >= .http11 && handler.isProtocolHTTP11 {
            let proceed = handler.handleExpect100()
            if !proceed {
                // The handler refused the body (417 or similar): it is not read, and the connection
                // closes after the response, so the unread body can never be taken for a request.
                guard machine.bodyRefused() == .accepted else { return }
                if !response.hasFinalStatus { handler.sendError(417) }
                _ = checkResponse(handler)
                cancelRequest()
                flushOutput()
                return
            }
            flushOutput()
        }
        if streams && machine.streamingChosen() == .dispatch {
            dispatch()
        }
    }

    private func bodyReceived(_ bytes: UnsafeRawBufferPointer) {
        switch machine.request?.body {
        case .buffered:
            ensureHandler()
            if let limit = context.bufferedBodyLimit, exchange.body.count + bytes.count > limit {
                failRequest(ParseError(.bodyTooLarge, status: 413), detail: .refusedAfterHead)
                return
            }
            if exchange.body.capacity == 0 { exchange.body = pool.take() }
            exchange.body.append(contentsOf: bytes)
        case .streaming, .streamAbandoned, .streamEnded:
            exchange.streamedBodyBytes += bytes.count
            deliverStreamedBody(bytes)
        case .refused, nil:
            break
        }
    }

    /// Trailers are rare: they are turned into strings at once, while their bytes are at hand.
    private func collectTrailers(_ slice: UnsafeRawBufferPointer) {
        var trailers = HTTPHeaders()
        for field in parser.trailers {
            trailers.add(PythonText.latin1(UnsafeRawBufferPointer(rebasing: slice[field.name])),
                         PythonText.latin1(UnsafeRawBufferPointer(rebasing: slice[field.value])))
        }
        exchange.trailers = trailers
    }

    /// Parses the input held back (by backpressure or a deferred response), then writes.
    func processPending() {
        guard !pending.isEmpty else { flushOutput(); return }
        var buffer: [UInt8] = []
        swap(&buffer, &pending)
        let used = buffer.withUnsafeBytes { process($0) }
        if used < buffer.count && machine.acceptsInput {
            buffer.removeSubrange(0..<used)
            swap(&buffer, &pending)
        } else {
            pool.give(&buffer)
        }
        if machine.input == .ended && machine.acceptsInput && pending.isEmpty {
            finishInput()
            return
        }
        flushOutput()
    }

    /// Copies the head so that its ranges stay valid after the read buffer is reused: into a
    /// pooled buffer while the request is being read or handled (no allocation per request), and
    /// into one of its own size while a deferred response waits (a stream, a CGI script, an async
    /// handler that suspended: thousands may wait at once, and a pooled 4 KiB buffer each would be
    /// most of their memory).
    func saveHead() {
        guard case .inReadBuffer(let head) = exchange.head else { return }
        let length = exchange.headLength
        if exchange.savedHead.capacity == 0 && machine.isAwaitingDeferredResponse {
            exchange.savedHead = Array(UnsafeRawBufferPointer(rebasing: head[0..<min(length, head.count)]))
            exchange.head = .saved
            return
        }
        if exchange.savedHead.capacity == 0 { exchange.savedHead = pool.take() }
        exchange.savedHead.removeAll(keepingCapacity: true)
        exchange.savedHead.append(contentsOf: UnsafeRawBufferPointer(rebasing: head[0..<min(length, head.count)]))
        exchange.head = .saved
    }

    /// The bytes the current head's ranges refer to.
    func withHeadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch exchange.head {
        case .saved: return exchange.savedHead.withUnsafeBytes(body)
        case .inReadBuffer(let bytes): return body(bytes)
        case .none: return body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
}
