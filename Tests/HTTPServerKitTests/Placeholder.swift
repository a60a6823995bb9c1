import Testing
@Test func placeholderHTTPServerKitTests() { #expect(1 + 1 == 2) }
