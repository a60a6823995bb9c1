// Handlers name `HTTPStatus`, `FileDescriptor`, `SocketAddress` and `TLSConfiguration` without importing the lower modules.
@_exported import HTTP1
@_exported import Reactor
@_exported import HTTPServerTLS
