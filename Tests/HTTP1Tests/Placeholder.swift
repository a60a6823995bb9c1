import Testing
@Test func placeholderHTTP1Tests() { #expect(1 + 1 == 2) }
