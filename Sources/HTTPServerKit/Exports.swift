// Handlers name `HTTPStatus`, `FileDescriptor` and `SocketAddress` without importing the lower modules.
@_exported import HTTP1
@_exported import Reactor
