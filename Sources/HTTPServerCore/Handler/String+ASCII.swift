import HTTPServerHTTP1

extension StaticString {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount))
    }
}

extension String {
    package func trimmingASCIISpaces() -> Substring {
        var s = self[...]
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }

    package func lowercasedASCII() -> String {
        String(decoding: utf8.map { HTTPHeaders.lower($0) }, as: UTF8.self)
    }
}
