import Testing
@Test func placeholderReactorTests() { #expect(1 + 1 == 2) }
