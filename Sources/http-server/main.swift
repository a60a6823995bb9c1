import ArgumentParser
import Glibc

// Errors are one line on standard error, never a stack dump: 2 for a bad command line (as Python's
// argparse), 1 when the server cannot start.
/// One line on standard error.
func printError(_ message: String) {
    var line = "http-server: error: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

do {
    let command = try HTTPServerCommand.parse()
    try command.run()
    exit(0)
} catch let failure as CommandLineFailure {
    printError(failure.description)
    exit(1)
} catch {
    let code = HTTPServerCommand.exitCode(for: error)
    if code == .success {
        print(HTTPServerCommand.fullMessage(for: error))
        exit(0)
    }
    let message = HTTPServerCommand.message(for: error)
        .split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid command line"
    printError((message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message) + " (see --help)")
    exit(2)
}
