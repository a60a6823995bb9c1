// The module a handler author imports: the server and the handler API (`HTTPServerCore`),
// `SimpleHTTPRequestHandler` (`HTTPServerStaticFiles`) and `CGIHTTPRequestHandler` (`HTTPServerCGI`).
@_exported import HTTPServerCGI
@_exported import HTTPServerCore
@_exported import HTTPServerStaticFiles
