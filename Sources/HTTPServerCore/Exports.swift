// Only what a handler author names: the status type, the parser limits of `ServerConfiguration`,
// the client address of `HTTPServer.handleError`. The rest of the reactor (its `Timer`,
// `FileDescriptor`, `EventLoop`) stays behind `import HTTPServerReactor`, where it cannot collide
// with Foundation's or swift-system's types of the same names.
@_exported import struct HTTPServerHTTP1.HTTPStatus
@_exported import struct HTTPServerHTTP1.ParserLimits
@_exported import struct HTTPServerReactor.SocketAddress
// `HTTPSServer`'s options and the error its certificate loading throws.
@_exported import struct HTTPServerTLS.TLSConfiguration
@_exported import struct HTTPServerTLS.TLSError
