import Glibc

/// The `Date` header of a response (RFC 9110's IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`),
/// from the C library's broken-down UTC time. Foundation's date formatting goes through ICU's
/// calendar and time zone tables, which would stay resident for the daemon's whole run.
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func header(secondsSince1970 seconds: Int = time(nil)) -> String {
        var clock = time_t(seconds)
        var utc = tm()
        gmtime_r(&clock, &utc)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(utc.tm_wday)]), \(two(utc.tm_mday)) \(months[Int(utc.tm_mon)]) \(1900 + utc.tm_year) "
            + "\(two(utc.tm_hour)):\(two(utc.tm_min)):\(two(utc.tm_sec)) GMT"
    }
}
