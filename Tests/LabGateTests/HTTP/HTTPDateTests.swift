import Testing
@testable import LabGateDaemon

@Suite("the Date header of the control socket's and the HTTP listener's responses")
struct HTTPDateTests {
    @Test("is RFC 9110's IMF-fixdate in GMT, with two-digit day, hour, minute and second")
    func imfFixdate() {
        #expect(HTTPDate.header(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.header(secondsSince1970: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
        #expect(HTTPDate.header(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
