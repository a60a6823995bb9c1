import HTTPServerKit

extension HTTPServerCommand {
    /// Binds, prints the banner and serves until interrupted.
    func serve(directory: String) throws {
        throw CommandLineFailure("serving needs the HTTPServer core (not merged yet)")
    }
}
