import HTTPServerKit

/// `echo` mode: every request that parsed, whatever its method, is answered 200 with a JSON
/// description of what was received (the format of ../shared/conformance/README.md), HTTP/1.1
/// keep-alive. CONNECT is echoed, then the connection closes.
final class EchoHandler: BaseHTTPRequestHandler {
    override var protocolVersion: String { "HTTP/1.1" }

    override func doMethod(_ command: String) throws {
        if command == "CONNECT" { closeConnection = true }
        var json = "{\"method\": "
        appendJSONString(command, to: &json)
        json += ", \"path\": "
        appendJSONString(requestTarget, to: &json)
        json += ", \"version\": "
        appendJSONString(requestVersion, to: &json)
        json += ", \"headers\": "
        appendFields(headers, to: &json)
        json += ", \"trailers\": "
        appendFields(trailers, to: &json)
        json += ", \"body_b64\": \""
        json += base64(rfile.read())
        json += "\"}"
        let body = Array(json.utf8)
        sendResponse(200)
        sendHeader("Content-Type", "application/json")
        sendHeader("Content-Length", String(body.count))
        if command == "HEAD" { sendHeader("Echo-B64", base64(body)) }
        if closeConnection { sendHeader("Connection", "close") }
        endHeaders()
        if command != "HEAD" { wfile.write(body) }
    }

    override func doGET() throws { try doMethod("GET") }
    override func doHEAD() throws { try doMethod("HEAD") }
    override func doPOST() throws { try doMethod("POST") }
    override func doPUT() throws { try doMethod("PUT") }
    override func doDELETE() throws { try doMethod("DELETE") }
    override func doOPTIONS() throws { try doMethod("OPTIONS") }
    override func doPATCH() throws { try doMethod("PATCH") }
    override func doTRACE() throws { try doMethod("TRACE") }
    override func doCONNECT() throws { try doMethod("CONNECT") }

    override func logMessage(_ message: String) {}

    func appendFields(_ fields: HTTPHeaders, to json: inout String) {
        json += "["
        var first = true
        for (name, value) in fields {
            if !first { json += ", " }
            first = false
            json += "["
            appendJSONString(name, to: &json)
            json += ", "
            appendJSONString(value, to: &json)
            json += "]"
        }
        json += "]"
    }
}

/// A JSON string literal. The server decodes request bytes as Latin-1 (one scalar per octet), so
/// every scalar outside printable ASCII is written as `\u00XX`: the octet, exactly.
func appendJSONString(_ s: String, to out: inout String) {
    let hex: [Character] = Array("0123456789abcdef")
    out += "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case " "..."~": out.unicodeScalars.append(scalar)
        default:
            let v = Int(scalar.value)
            if v > 0xFFFF {
                out.unicodeScalars.append(scalar)  // not produced by Latin-1 decoding
            } else {
                out += "\\u"
                for shift in [12, 8, 4, 0] { out.append(hex[(v >> shift) & 0xF]) }
            }
        }
    }
    out += "\""
}

/// Standard base64 with padding (RFC 4648 §4).
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i + 3 <= bytes.count {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
        i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
        let v = UInt32(bytes[i]) << 16
        out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
        out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
    }
    return String(decoding: out, as: UTF8.self)
}
