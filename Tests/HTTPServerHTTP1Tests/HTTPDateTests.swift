import HTTPServerHTTP1
import Testing

@Suite struct HTTPDateTests {
    // email.utils.formatdate(t, usegmt=True)
    @Test(arguments: [
        (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
        (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
    ])
    func formatsAndRoundTrips(_ seconds: Int64, _ text: String) {
        #expect(HTTPDate.string(epochSeconds: seconds) == text)
        var out: [UInt8] = []
        HTTPDate.format(epochSeconds: seconds, into: &out)
        #expect(out.count == 29)
        #expect(HTTPDate.parse(text) == seconds)
    }

    @Test(arguments: [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ])
    func parsesTheThreeForms(_ text: String) {
        #expect(HTTPDate.parse(text) == 784_111_777)
    }

    @Test(arguments: [
        "", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun Nov 06 08:49:37 1994 extra", "garbage", "Sunday, 06-Nov-1994 08:49:37 GMT",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func civilFields() {
        let c = HTTPDate.civil(epochSeconds: 784_111_777)
        #expect(c.year == 1994 && c.month == 11 && c.day == 6)
        #expect(c.hour == 8 && c.minute == 49 && c.second == 37 && c.weekday == 0)
        #expect(HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT") == Int64(0))
        #expect(HTTPDate.parse("Friday, 01-Jan-68 00:00:00 GMT") == HTTPDate.epoch(year: 2068, month: 1, day: 1, hour: 0, minute: 0, second: 0))
    }

    @Test func everyDayForFourHundredYearsRoundTrips() {
        var t: Int64 = -2_208_988_800  // 1900-01-01
        let stop: Int64 = 10_413_792_000  // 2300-01-01
        while t < stop {
            let c = HTTPDate.civil(epochSeconds: t)
            #expect(HTTPDate.epoch(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second) == t)
            t += 86_400 + 3_661
        }
    }
}
